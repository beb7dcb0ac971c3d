"""roadseg web app: segment road images through the gateway.  streamlit run streamlit/app.py"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path, PurePath

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the app's own modules, beside this file

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from app_client import Category, GatewayClient, GatewayProblem, ModelInfo, Segmentation, VideoJob
from app_masks import decode_rgb, masks_zip, only_shown
from app_settings import AppSettings

from roadseg.categories import colorize
from roadseg.images import encode_png
from roadseg.masks import category_share_by_name, mask_ids, overlay
from roadseg.media import IMAGE_EXTENSIONS

SAMPLES = Path(__file__).resolve().parent / "samples"
SAMPLE_CLIP = SAMPLES / "camvid_0016E5.mp4"
CACHED_MASKS = 32  # per browser session: enough for a batch, bounded for long sessions
IMAGE_TYPES = list(IMAGE_EXTENSIONS)  # every format the API reads
VIDEO_TYPES = ["mp4", "mov", "avi", "mkv"]
VIDEO_POLL_S = 0.5  # how often a running video job's progress is asked for
VIDEO_WAIT_S = 1800  # how long one page run follows a job before it offers to check again


@st.cache_resource
def gateway(base_url: str, timeout_s: float) -> GatewayClient:
    return GatewayClient(base_url, timeout_s)


def service_info(client: GatewayClient) -> tuple[list[Category], list[ModelInfo]]:
    """Categories and models, fetched once per session (again after a failure, or on "Refresh")."""
    if "service_info" not in st.session_state:
        st.session_state.service_info = (client.categories(), client.models())
    info: tuple[list[Category], list[ModelInfo]] = st.session_state.service_info
    return info


def version_label(name: str, version: str, dataset: str | None, default: bool = False) -> str:
    """e.g. "roadseg 3.0 (cityscapes, default)": the dataset a version was trained on, when its archive says."""
    notes = [note for note in (dataset, "default" if default else None) if note]
    return f"{name} {version}" + (f" ({', '.join(notes)})" if notes else "")


def model_choice(models: list[ModelInfo]) -> tuple[str | None, str | None]:
    """Sidebar choice of model/version when the gateway lists more than one; None = the default."""
    options = [(m.name, v.version, m.is_default and v.is_default, v.dataset) for m in models for v in m.versions]
    if len(options) <= 1:
        if options:
            name, version, _, dataset = options[0]
            st.sidebar.caption(
                f"Model: **{name}** version **{version}**" + (f", trained on {dataset}" if dataset else "")
            )
        return None, None
    labels = [version_label(n, v, d, default) for n, v, default, d in options]
    default_index = next((i for i, o in enumerate(options) if o[2]), 0)
    index = st.sidebar.selectbox(
        "Model and version",
        range(len(options)),
        index=default_index,
        format_func=labels.__getitem__,
        key="model_version",
    )
    name, version, _, _ = options[index]
    return name, version


def legend(categories: list[Category]) -> None:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'background:rgb{tuple(c.color)};border:1px solid #888"></span>{c.id} {c.name}</div>'
        for c in categories
    )
    st.sidebar.markdown("**Categories**" + rows, unsafe_allow_html=True)


def shown_categories(categories: list[Category]) -> list[int]:
    """The sidebar's category toggles: ids of the categories the mask and overlay colour."""
    names = [c.name for c in categories]
    chosen = st.sidebar.multiselect(
        "Categories shown",
        names,
        default=names,
        key="shown_categories",
        help="the mask and the overlay colour only these; downloads keep every category",
    )
    return [c.id for c in categories if c.name in chosen]


def segment_cached(
    client: GatewayClient, name: str, data: bytes, model: str | None, version: str | None, format: str = "raw"
) -> Segmentation:
    """One gateway call per (image, model, version, format): sliders and downloads rerun the page without it."""
    key = (hashlib.sha256(data).hexdigest(), model, version, format)
    cache = st.session_state.setdefault("segmentations", {})
    if key not in cache:
        with st.spinner(f"Segmenting {name}..."):
            cache[key] = client.segment(name, data, model, version, format)
        while len(cache) > CACHED_MASKS:
            cache.pop(next(iter(cache)))  # oldest first (dicts keep insertion order)
    segmentation: Segmentation = cache[key]
    return segmentation


def shares_chart(shares: dict[str, float], categories: list[Category]) -> alt.Chart:
    frame = pd.DataFrame({"category": list(shares), "share": list(shares.values())})
    colours = [f"rgb({r},{g},{b})" for r, g, b in (c.color for c in categories)]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("category:N", sort=None, title=None),
            y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share of pixels"),
            color=alt.Color("category:N", scale=alt.Scale(domain=list(shares), range=colours), legend=None),
            tooltip=["category", alt.Tooltip("share:Q", format=".1%")],
        )
    )


def rendered(
    data: bytes, result: Segmentation, shown: list[int], opacity: float
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray | None]:
    """(original, ids, the mask's colours for the shown categories, the overlay of those or None)."""
    ids = mask_ids(result.mask_png)
    colours = colorize(ids)
    rgb = decode_rgb(data)
    mask = only_shown(colours, ids, shown, np.zeros_like(colours))
    blended = None
    if rgb is not None and rgb.shape[:2] == ids.shape:
        blended = only_shown(overlay(rgb, ids, opacity), ids, shown, rgb)
    return rgb, ids, mask, blended


def show_result(
    name: str,
    data: bytes,
    result: Segmentation,
    categories: list[Category],
    shown: list[int],
    opacity: float,
    confidence: Segmentation | None = None,
) -> None:
    rgb, ids, mask, blended = rendered(data, result, shown, opacity)
    colours = colorize(ids)
    left, middle, right = st.columns(3)
    left.image(
        rgb if rgb is not None else colours, caption="Original" if rgb is not None else "Original (not previewable)"
    )
    middle.image(mask, caption="Mask" if len(shown) == len(categories) else f"Mask ({len(shown)} categories)")
    if blended is not None:
        right.image(blended, caption=f"Overlay ({opacity:.0%} mask)")
    if confidence is not None:
        level = mask_ids(confidence.mask_png)
        st.image(
            level,
            caption=f"Confidence: white where the model is sure, dark where it hesitates "
            f"(mean {level.mean() / 255:.0%})",
            width=min(level.shape[1], 640),
        )
    a, b, c = st.columns(3)
    a.metric("Model", result.model)
    b.metric("Version", result.version)
    c.metric("Inference time", f"{result.inference_ms:.0f} ms")
    st.altair_chart(shares_chart(category_share_by_name(ids), categories), width="stretch")
    stem = PurePath(name).stem or "image"
    d1, d2 = st.columns(2)
    d1.download_button(
        "Download mask (category ids, PNG)", result.mask_png, f"{stem}_mask.png", "image/png", key="download_raw"
    )
    d2.download_button(
        "Download colour mask (PNG)", encode_png(colours), f"{stem}_color.png", "image/png", key="download_color"
    )


def pick_image(keys: tuple[str, str, str]) -> tuple[str, bytes] | None:
    """An uploaded or a sample image, with widgets under the given (source, upload, sample) keys."""
    source = st.radio("Image", ["Upload", "Sample"], horizontal=True, key=keys[0])
    if source == "Upload":
        upload = st.file_uploader("Road image (PNG, JPEG, WebP, BMP or TIFF)", type=IMAGE_TYPES, key=keys[1])
        if upload is None:
            st.info("Upload a road image, or pick one of the samples.")
            return None
        return upload.name, upload.getvalue()
    samples = sorted(p.name for p in SAMPLES.glob("*.jpg"))
    name = st.selectbox("Sample road image (CamVid val)", samples, key=keys[2])
    return name, (SAMPLES / name).read_bytes()


def single_image(
    client: GatewayClient,
    categories: list[Category],
    shown: list[int],
    model: str | None,
    version: str | None,
    opacity: float,
    with_confidence: bool,
) -> None:
    picked = pick_image(("source", "single_upload", "sample"))
    if picked is None:
        return
    name, data = picked
    try:
        result = segment_cached(client, name, data, model, version)
        confidence = segment_cached(client, name, data, model, version, "confidence") if with_confidence else None
    except GatewayProblem as problem:
        st.error(str(problem))
        return
    show_result(name, data, result, categories, shown, opacity, confidence)


def compare_versions(client: GatewayClient, models: list[ModelInfo], shown: list[int], opacity: float) -> None:
    """Two registered models or versions on one image: side by side, with their shares and times. A starts on
    the default; B on another model when there is one (e.g. the real-time model beside the VGG16 U-Net), else on
    the newest other version of the same model."""
    entries = [(m, v) for m in models for v in m.versions]
    options = [(m.name, v.version) for m, v in entries]
    if len(options) < 2:
        st.info("Only one model version is registered: there is nothing to compare yet.")
        return
    labels = [version_label(m.name, v.version, v.dataset) for m, v in entries]
    default = next((i for i, (m, v) in enumerate(entries) if m.is_default and v.is_default), 0)
    others = [i for i in range(len(options)) if i != default]
    other_model = next((i for i in others if options[i][0] != options[default][0]), others[-1])
    chosen = [
        column.selectbox(title, range(len(options)), index=start, format_func=labels.__getitem__, key=f"compare_{i}")
        for i, (column, title, start) in enumerate(
            zip(st.columns(2), ("Model A", "Model B"), (default, other_model), strict=True)
        )
    ]
    picked = pick_image(("compare_source", "compare_upload", "compare_sample"))
    if picked is None:
        return
    name, data = picked
    columns = st.columns(2)
    shares: dict[str, dict[str, float]] = {}
    for column, index in zip(columns, chosen, strict=True):
        try:
            result = segment_cached(client, name, data, *options[index])
        except GatewayProblem as problem:
            st.error(str(problem))
            return
        _, ids, mask, blended = rendered(data, result, shown, opacity)
        column.image(blended if blended is not None else mask, caption=labels[index])
        column.metric(f"{labels[index]}: inference time", f"{result.inference_ms:.0f} ms")
        shares[labels[index]] = category_share_by_name(ids)
    table = pd.DataFrame(shares).mul(100).round(1)
    if table.shape[1] == 2:
        table["B - A (points)"] = (table.iloc[:, 1] - table.iloc[:, 0]).round(1)
    st.caption("Share of the image's pixels per category, %")
    st.dataframe(table, width="stretch")


def batch(client: GatewayClient, model: str | None, version: str | None) -> None:
    uploads = st.file_uploader("Road images", type=IMAGE_TYPES, accept_multiple_files=True, key="batch_upload")
    if uploads and st.button(f"Segment {len(uploads)} image(s)", key="segment_all"):
        progress = st.progress(0.0, text="Segmenting...")
        done: list[tuple[str, bytes, bytes]] = []
        failures: list[str] = []
        for index, upload in enumerate(uploads):
            try:
                result = segment_cached(client, upload.name, upload.getvalue(), model, version)
                done.append((upload.name, result.mask_png, encode_png(colorize(mask_ids(result.mask_png)))))
            except GatewayProblem as problem:
                failures.append(str(problem))
            progress.progress((index + 1) / len(uploads), text=f"{index + 1}/{len(uploads)}")
        st.session_state.batch = (masks_zip(done) if done else None, len(done), failures)
    if "batch" in st.session_state:
        archive, count, failures = st.session_state.batch
        for failure in failures:
            st.warning(failure)
        if archive:
            st.success(f"{count} mask(s) ready: category ids and colours, two PNGs per image.")
            st.download_button("Download all masks (ZIP)", archive, "masks.zip", "application/zip", key="download_zip")


def video(client: GatewayClient, model: str | None, version: str | None, opacity: float) -> None:
    """A dashcam clip through the gateway's video jobs: progress while it runs, then play and download."""
    source = st.radio("Clip", ["Upload", "Sample"], horizontal=True, key="video_source")
    if source == "Upload":
        upload = st.file_uploader("Dashcam clip (MP4, MOV, AVI or MKV)", type=VIDEO_TYPES, key="video_upload")
        if upload is None:
            st.info("Upload a dashcam clip, or pick the sample.")
            return
        name, data = upload.name, upload.getvalue()
    else:
        name, data = SAMPLE_CLIP.name, SAMPLE_CLIP.read_bytes()
        st.caption("Sample: 60 frames of CamVid val's 0016E5 sequence (480x360, 15 fps)")
    with_masks = st.checkbox("Also keep every frame's mask (ZIP of PNGs)", key="video_masks")
    if st.button("Segment video", key="segment_video"):
        try:
            submitted = client.submit_video(name, data, with_masks, opacity, model, version)
        except GatewayProblem as problem:
            st.error(str(problem))
            return
        st.session_state.video_job = {"id": submitted.id, "name": name}
        st.session_state.pop("video_result", None)
    current = st.session_state.get("video_job")
    if current is None:
        return
    result = st.session_state.get("video_result")
    if result is None or result["job"].id != current["id"]:  # once fetched, reruns show it as it is
        followed = follow_video(client, current["id"])
        if followed is None or followed.status != "done" or followed.video_url is None:
            return
        try:
            result = {
                "job": followed,
                "video": client.download(followed.video_url, "the overlay video"),
                "masks": client.download(followed.masks_url, "the masks") if followed.masks_url else None,
            }
        except GatewayProblem as problem:
            st.error(str(problem))
            return
        st.session_state.video_result = result
    job: VideoJob = result["job"]
    st.video(result["video"], format="video/mp4")
    a, b, c = st.columns(3)
    a.metric("Frames", f"{job.frames_done} at {job.width}x{job.height}")
    b.metric("Speed", f"{job.frames_done / max(job.processing_seconds or 0, 1e-9):.1f} frames/s")
    c.metric("Model", f"{job.model} {job.version}")
    stem = PurePath(current["name"]).stem or "video"
    d1, d2 = st.columns(2)
    # on_click="ignore": a download does not rerun the page (and redraw the video)
    d1.download_button(
        "Download overlay video (MP4)",
        result["video"],
        f"{stem}_overlay.mp4",
        "video/mp4",
        key="download_video",
        on_click="ignore",
    )
    if result["masks"] is not None:
        d2.download_button(
            "Download masks (ZIP)",
            result["masks"],
            f"{stem}_masks.zip",
            "application/zip",
            key="download_video_masks",
            on_click="ignore",
        )


def follow_video(client: GatewayClient, job_id: str) -> VideoJob | None:
    """The job once finished, with a progress bar while it runs; None (and a message) if it cannot be followed."""
    progress = st.progress(0.0, text="Waiting for the video to start...")
    deadline = time.monotonic() + VIDEO_WAIT_S
    while True:
        try:
            job = client.video_job(job_id)
        except GatewayProblem as problem:
            progress.empty()
            st.error(f"{problem} The video job goes on: check again in a moment.")
            st.button("Check again", key="video_check_again")
            return None
        total = max(job.frames_total, 1)
        progress.progress(min(job.frames_done / total, 1.0), text=f"{job.frames_done} / {total} frames")
        if job.status == "failed":
            st.error(f"The video could not be segmented: {job.error}")
            return job
        if job.status == "done":
            progress.empty()
            return job
        if time.monotonic() > deadline:
            st.warning("The video is still being segmented.")
            st.button("Check again", key="video_check_again")
            return None
        time.sleep(VIDEO_POLL_S)


def main() -> None:
    st.set_page_config(page_title="roadseg", page_icon="🚗", layout="wide")
    st.title("Road-scene segmentation")
    st.caption("8 Cityscapes categories: void, flat, construction, object, nature, sky, human, vehicle.")
    settings = AppSettings()
    client = gateway(settings.api_url, settings.api_timeout_s)
    try:
        categories, models = service_info(client)
    except GatewayProblem as problem:
        st.error(str(problem))
        st.button("Retry", key="retry")
        return
    if st.sidebar.button(
        "Refresh model list",
        key="refresh_models",
        help="ask the gateway again, e.g. after a new version was registered or made the default",
    ):
        del st.session_state.service_info
        st.rerun()
    model, version = model_choice(models)
    opacity = st.sidebar.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="opacity")
    shown = shown_categories(categories)
    with_confidence = st.sidebar.toggle(
        "Show confidence", key="show_confidence", help="the model's certainty per pixel (highest softmax probability)"
    )
    legend(categories)
    st.sidebar.caption(f"Gateway: {settings.api_url}")
    single_tab, batch_tab, video_tab, compare_tab = st.tabs(
        ["One image", "Several images (ZIP)", "Video", "Compare models"]
    )
    with single_tab:
        single_image(client, categories, shown, model, version, opacity, with_confidence)
    with batch_tab:
        batch(client, model, version)
    with video_tab:
        video(client, model, version, opacity)
    with compare_tab:
        compare_versions(client, models, shown, opacity)


main()
