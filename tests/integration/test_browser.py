"""End to end in a real headless Chromium: the Streamlit app -> gateway -> TorchServe, as a person uses it."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from stack.processes import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, stop, wait_for
from tests.images import image_bytes
from tests.integration.conftest import V1_CATEGORY
from tests.videos import decoded_frames

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app_url(stack, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    app = start_streamlit(port, stack.url, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/_stcore/health", 90, app)
        yield url
    except BaseException:
        print(log.read_text()[-3000:])
        raise
    finally:
        stop(app)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = (
            "Chromium is not installed (/usr/bin/chromium): `make test` installs it with apt-get "
            "(scripts/ensure_chromium.sh); it could not here"
        )
        if os.environ.get("CI"):
            pytest.fail(message + ". In CI the browser test must run, not be skipped.")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


def test_upload_segment_show_and_download_in_a_real_browser(app_url, browser, tmp_path):
    upload = tmp_path / "road.png"
    upload.write_bytes(image_bytes("png-rgb", 160, 120))
    page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1100})
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_text("Road-scene segmentation").wait_for(timeout=60_000)
        # The whole first run of the script is on the page (both tabs' uploaders): an upload set while
        # Streamlit is still building the page can be lost with the element it was set on.
        page.get_by_text("Upload a road image, or pick one of the samples.").first.wait_for(timeout=60_000)
        page.wait_for_function("document.querySelectorAll('input[type=file]').length >= 2", timeout=60_000)
        page.locator("input[type=file]").first.set_input_files(str(upload))

        download_raw = page.get_by_role("button", name="Download mask (category ids, PNG)")
        download_raw.wait_for(timeout=120_000)
        # Original, mask and overlay are on the page, with the model's answer.
        page.get_by_text("Overlay (50% mask)").wait_for()
        assert page.locator("[data-testid=stImage] img, [data-testid=stImageContainer] img").count() >= 3
        metrics = page.get_by_test_id("stMetricValue").all_inner_texts()
        assert metrics[:2] == ["roadseg", "1.0"] and metrics[2].endswith(" ms"), metrics

        with page.expect_download() as download_info:
            download_raw.click()
        saved = tmp_path / "downloaded_mask.png"
        download_info.value.save_as(saved)
        mask = Image.open(saved)
        assert download_info.value.suggested_filename == "road_mask.png"
        assert mask.size == (160, 120) and mask.mode == "L"
        assert np.unique(np.asarray(mask)).tolist() == [V1_CATEGORY]
    finally:
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        page.close()
    assert (tmp_path / "app.png").stat().st_size > 10_000
    shutil.copy(tmp_path / "app.png", tmp_path.parent / "last_browser_test.png")


def test_the_design_s_and_the_real_time_model_side_by_side_in_a_real_browser(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_text("Upload a road image, or pick one of the samples.").first.wait_for(timeout=60_000)
        page.get_by_role("tab", name="Compare models").click()
        panel = page.get_by_role("tabpanel", name="Compare models")
        panel.get_by_text("Sample", exact=True).click()
        panel.get_by_text("Share of the image's pixels per category, %").wait_for(timeout=120_000)
        labels = panel.get_by_test_id("stMetricLabel").all_inner_texts()
        assert [label.split(":")[0].split(" (")[0] for label in labels] == ["roadseg 1.0", "roadseg-rt 1.0"], labels
        assert panel.locator("[data-testid=stImage] img, [data-testid=stImageContainer] img").count() == 2
    finally:
        page.screenshot(path=str(tmp_path / "compare_tab.png"), full_page=True)
        page.close()


def test_the_sample_clip_goes_through_the_video_tab_in_a_real_browser(app_url, browser, tmp_path):
    page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1100})
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_text("Upload a road image, or pick one of the samples.").first.wait_for(timeout=60_000)
        page.get_by_role("tab", name="Video").click()
        page.get_by_text("Upload a dashcam clip, or pick the sample.").wait_for(timeout=30_000)
        page.get_by_role("tabpanel", name="Video").get_by_text("Sample", exact=True).click()
        page.get_by_role("button", name="Segment video").click()
        download = page.get_by_role("button", name="Download overlay video (MP4)")
        download.wait_for(timeout=180_000)
        assert page.locator("[data-testid=stVideo]").count() == 1  # the result plays on the page
        with page.expect_download() as download_info:
            download.click()
        saved = tmp_path / "overlay.mp4"
        download_info.value.save_as(saved)
    finally:
        page.screenshot(path=str(tmp_path / "video_tab.png"), full_page=True)
        page.close()
    frames = decoded_frames(saved)
    assert len(frames) == 60 and {f.shape for f in frames} == {(360, 480, 3)}  # the sample: 60 frames, 480x360


def test_deployment_smoke_command_passes_against_the_local_stack(stack, app_url, capsys):
    from tests.docker.conftest import DOCKER, load_script

    aci = load_script(DOCKER / "azure" / "aci.py", "docker_aci_smoke")
    assert aci.main(["smoke", "--gateway-url", stack.url, "--app-url", app_url]) == 0
    out = capsys.readouterr().out
    assert out.count("ok    ") == 4 and "FAIL" not in out
    assert aci.main(["smoke", "--gateway-url", "http://127.0.0.1:9", "--app-url", app_url]) == 1
