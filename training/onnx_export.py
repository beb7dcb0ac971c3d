"""The model as ONNX (dynamic batch, height and width), checked against PyTorch on real images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from roadseg.images import decode_image
from roadseg.preprocessing import model_input
from segmenter.models import SegmentationModel
from segmenter.onnx_model import INPUT_NAME, OUTPUT_NAME, OnnxModel

MIN_MASK_AGREEMENT = 0.999  # share of pixels whose argmax must match PyTorch's


def export_onnx(model: SegmentationModel, path: Path, short_side: int) -> Path:
    """Write `path`: (N, 3, H, W) normalised images -> (N, 8, H, W) logits, any N, H and W."""
    model = model.cpu().eval()
    example = torch.zeros(1, 3, short_side + 1, round(short_side * 4 / 3) + 1)  # sizes that need padding
    dynamic = {"images": {0: torch.export.Dim("batch", max=64), 2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO}}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (example,),
        str(path),
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=dynamic,
        external_data=False,
        verbose=False,
    )
    return path


def onnx_agreement(model: SegmentationModel, path: Path, image_files: list[Path], short_side: int) -> dict[str, Any]:
    """ONNX Runtime against PyTorch on each image, prepared as the handler prepares it: the largest logit
    difference and the share of pixels whose category agrees."""
    runtime = OnnxModel(path)
    worst, agree, pixels = 0.0, 0, 0
    for file in image_files:
        x = torch.from_numpy(model_input(decode_image(file.read_bytes()), short_side)[None])
        with torch.inference_mode():
            expected, logits = model(x).numpy(), runtime(x).numpy()
        worst = max(worst, float(np.abs(logits - expected).max()))
        agree += int((logits.argmax(1) == expected.argmax(1)).sum())
        pixels += expected.shape[0] * expected.shape[2] * expected.shape[3]
    return {"images": len(image_files), "max_abs_logit_diff": worst, "mask_agreement": agree / max(1, pixels)}
