"""roadseg web app: segment road images through the gateway.  streamlit run streamlit/app.py"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path, PurePath

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the app's own modules, beside this file

import altair as alt
import pandas as pd
import streamlit as st
from app_client import GatewayClient, GatewayProblem, Segmentation
from app_masks import (
    category_shares,
    colour_mask,
    decode_rgb,
    mask_ids,
    masks_zip,
    overlay,
    png_bytes,
)
from app_settings import AppSettings

SAMPLES = Path(__file__).resolve().parent / "samples"
CACHED_MASKS = 32  # per browser session: enough for a batch, bounded for long sessions
IMAGE_TYPES = ["png", "jpg", "jpeg"]


@st.cache_resource
def gateway(base_url: str, timeout_s: float) -> GatewayClient:
    return GatewayClient(base_url, timeout_s)


def service_info(client: GatewayClient) -> tuple[list[dict], list[dict]]:
    """Categories and models, fetched once per session (again after a failure, or on "Refresh")."""
    if "service_info" not in st.session_state:
        st.session_state.service_info = (client.categories(), client.models())
    return st.session_state.service_info


def model_choice(models: list[dict]) -> tuple[str | None, str | None]:
    """Sidebar choice of model/version when the gateway lists more than one; None = the default."""
    options = [(m["name"], v["version"], v["is_default"]) for m in models for v in m["versions"]]
    if len(options) <= 1:
        if options:
            st.sidebar.caption(f"Model: **{options[0][0]}** version **{options[0][1]}**")
        return None, None
    labels = [f"{name} {version}" + (" (default)" if default else "") for name, version, default in options]
    default_index = next((i for i, o in enumerate(options) if o[2]), 0)
    index = st.sidebar.selectbox(
        "Model version", range(len(options)), index=default_index, format_func=labels.__getitem__, key="model_version"
    )
    name, version, _ = options[index]
    return name, version


def legend(categories: list[dict]) -> None:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'background:rgb{tuple(c["color"])};border:1px solid #888"></span>{c["id"]} {c["name"]}</div>'
        for c in categories
    )
    st.sidebar.markdown("**Categories**" + rows, unsafe_allow_html=True)


def segment_cached(
    client: GatewayClient, name: str, data: bytes, model: str | None, version: str | None
) -> Segmentation:
    """One gateway call per (image, model, version): sliders and downloads rerun the page without it."""
    key = (hashlib.sha256(data).hexdigest(), model, version)
    cache = st.session_state.setdefault("segmentations", {})
    if key not in cache:
        with st.spinner(f"Segmenting {name}..."):
            cache[key] = client.segment(name, data, model, version)
        while len(cache) > CACHED_MASKS:
            cache.pop(next(iter(cache)))  # oldest first (dicts keep insertion order)
    return cache[key]


def shares_chart(shares: dict[str, float], categories: list[dict]) -> alt.Chart:
    frame = pd.DataFrame({"category": list(shares), "share": list(shares.values())})
    colours = [f"rgb({r},{g},{b})" for r, g, b in (c["color"] for c in categories)]
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


def show_result(name: str, data: bytes, result: Segmentation, categories: list[dict], opacity: float) -> None:
    ids = mask_ids(result.mask_png)
    colours = colour_mask(ids, categories)
    rgb = decode_rgb(data)
    left, middle, right = st.columns(3)
    left.image(
        rgb if rgb is not None else colours, caption="Original" if rgb is not None else "Original (not previewable)"
    )
    middle.image(colours, caption="Mask")
    if rgb is not None and rgb.shape[:2] == ids.shape:
        right.image(overlay(rgb, colours, opacity), caption=f"Overlay ({opacity:.0%} mask)")
    a, b, c = st.columns(3)
    a.metric("Model", result.model)
    b.metric("Version", result.version)
    c.metric("Inference time", f"{result.inference_ms:.0f} ms")
    st.altair_chart(shares_chart(category_shares(ids, categories), categories), width="stretch")
    stem = PurePath(name).stem or "image"
    d1, d2 = st.columns(2)
    d1.download_button(
        "Download mask (category ids, PNG)", result.mask_png, f"{stem}_mask.png", "image/png", key="download_raw"
    )
    d2.download_button(
        "Download colour mask (PNG)", png_bytes(colours), f"{stem}_color.png", "image/png", key="download_color"
    )


def single_image(client, categories, model, version, opacity) -> None:
    source = st.radio("Image", ["Upload", "Sample"], horizontal=True, key="source")
    if source == "Upload":
        upload = st.file_uploader("Road image (PNG or JPEG)", type=IMAGE_TYPES, key="single_upload")
        if upload is None:
            st.info("Upload a road image, or pick one of the samples.")
            return
        name, data = upload.name, upload.getvalue()
    else:
        samples = sorted(p.name for p in SAMPLES.glob("*.jpg"))
        name = st.selectbox("Sample road image (CamVid val)", samples, key="sample")
        data = (SAMPLES / name).read_bytes()
    try:
        result = segment_cached(client, name, data, model, version)
    except GatewayProblem as problem:
        st.error(str(problem))
        return
    show_result(name, data, result, categories, opacity)


def batch(client, categories, model, version) -> None:
    uploads = st.file_uploader("Road images", type=IMAGE_TYPES, accept_multiple_files=True, key="batch_upload")
    if uploads and st.button(f"Segment {len(uploads)} image(s)", key="segment_all"):
        progress = st.progress(0.0, text="Segmenting...")
        done, failures = [], []
        for index, upload in enumerate(uploads):
            try:
                result = segment_cached(client, upload.name, upload.getvalue(), model, version)
                colours = colour_mask(mask_ids(result.mask_png), categories)
                done.append((upload.name, result.mask_png, png_bytes(colours)))
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
    legend(categories)
    st.sidebar.caption(f"Gateway: {settings.api_url}")
    single_tab, batch_tab = st.tabs(["One image", "Several images (ZIP)"])
    with single_tab:
        single_image(client, categories, model, version, opacity)
    with batch_tab:
        batch(client, categories, model, version)


main()
