"""Make the README's figures from the running services (start them with `make run` first).

    .venv/bin/python scripts/readme_figures.py \
        --image ../shared/data/cityscapes/leftImg8bit/val/zurich/zurich_000001_000019_leftImg8bit.jpg

Writes docs/images/<dataset>_example.png (the image, the colour mask from /predict?format=color, the overlay
and the confidence, side by side; the dataset is the folder above `leftImg8bit`) and, from the Streamlit app in headless
Chromium, docs/images/app.png (that image uploaded and segmented), app_compare.png (two models or versions side by
side on the app's sample) and app_video.png (the sample clip segmented).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from roadseg.contract import APP_PORT, GATEWAY_PORT
from stack.processes import CHROMIUM, CHROMIUM_ARGS

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def dataset_of(image: Path) -> str:
    """The dataset an image comes from, by its path: the folder above Cityscapes' `leftImg8bit`, else "road"."""
    parts = image.resolve().parts
    if "leftImg8bit" in parts and parts.index("leftImg8bit") > 0:
        return parts[parts.index("leftImg8bit") - 1].lower()
    return "road"


def example(gateway: str, image: Path) -> Path:
    data = image.read_bytes()
    with httpx.Client(base_url=gateway, timeout=120) as client:
        panels = [Image.open(image).convert("RGB")]
        for fmt in ("color", "overlay", "confidence"):
            response = client.post(f"/predict?format={fmt}", files={"file": (image.name, data)})
            response.raise_for_status()
            panels.append(Image.open(io.BytesIO(response.content)).convert("RGB"))
    width, height = panels[0].size
    sheet = Image.new("RGB", (4 * width + 30, height + 24), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (panel, title) in enumerate(
        zip(
            panels,
            [
                f"{dataset_of(image)} image: {image.name}",
                "mask (/predict?format=color)",
                "overlay (/predict?format=overlay)",
                "confidence (/predict?format=confidence)",
            ],
            strict=True,
        )
    ):
        sheet.paste(panel, (i * (width + 10), 24))
        draw.text((i * (width + 10) + 4, 6), title, fill="black")
    path = OUT / f"{dataset_of(image)}_example.png"
    sheet.save(path)
    return path


def app_screenshot(app_url: str, image: Path) -> Path:
    """The app's first tab with `image` uploaded and segmented by the default model."""
    from playwright.sync_api import sync_playwright

    path = OUT / "app.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1500, "height": 1250})
        page.goto(app_url)
        page.locator("input[type=file]").first.set_input_files(str(image))
        page.get_by_role("button", name="Download mask (category ids, PNG)").wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(path))
        browser.close()
    return path


def tab_screenshot(app_url: str, tab: str, button: str | None, ready: str, name: str) -> Path:
    """The app's `tab` with its sample chosen (and `button` pressed), once the `ready` CSS selector shows."""
    from playwright.sync_api import sync_playwright

    path = OUT / name
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1500, "height": 1250})
        page.goto(app_url)
        page.get_by_role("tab", name=tab).click()
        panel = page.get_by_role("tabpanel", name=tab)
        panel.get_by_text("Sample", exact=True).click()
        if button:
            panel.get_by_role("button", name=button).click()
        panel.locator(ready).first.wait_for(timeout=300_000)
        if panel.locator("video").count():
            panel.locator("video").evaluate("video => { video.currentTime = 2; }")  # a frame, not a black box
        page.wait_for_timeout(2500)
        page.screenshot(path=str(path))
        browser.close()
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gateway", default=f"http://127.0.0.1:{GATEWAY_PORT}")
    p.add_argument("--app", default=f"http://127.0.0.1:{APP_PORT}")
    p.add_argument("--image", type=Path, required=True, help="a val image (Cityscapes or CamVid), not a train one")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(example(args.gateway, args.image))
    print(app_screenshot(args.app, args.image))
    print(tab_screenshot(args.app, "Video", "Segment video", "[data-testid=stVideo]", "app_video.png"))
    print(tab_screenshot(args.app, "Compare models", None, "[data-testid=stDataFrame]", "app_compare.png"))


if __name__ == "__main__":
    main()
