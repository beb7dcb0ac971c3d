import numpy as np
import torch
from torchvision import tv_tensors

from roadseg.preprocessing import MEAN, STD, model_input
from training.presets import EvalPreset, TrainPreset

STEP = 30  # pattern: every pixel's red value is STEP * its category id


def pattern(height: int = 96, width: int = 128) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
    """Blocks of categories 1..7 (never void, so void in the output can only be fill)."""
    ids = np.array([[1, 2, 3, 4], [5, 6, 7, 1]], dtype=np.uint8)
    mask = np.kron(ids, np.ones((height // 2, width // 4), dtype=np.uint8))
    image = np.repeat((mask * STEP)[None], 3, axis=0)
    return tv_tensors.Image(torch.from_numpy(image)), tv_tensors.Mask(torch.from_numpy(mask))


def category_from_pixels(image: torch.Tensor) -> np.ndarray:
    red = image[0] * STD[0] + MEAN[0]
    return np.rint(red.numpy() * 255 / STEP).astype(int)


def interior(mask: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood has one value (away from block edges, where the image blends)."""
    padded = np.pad(mask, 1, mode="edge")
    same = np.ones_like(mask, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            same &= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]] == mask
    return same


def test_mask_stays_aligned_with_image_under_joint_augmentation():
    preset = TrainPreset(short_side=96, crop=(80, 112), degrees=20, translate=0.2, color_jitter=0)
    outputs = []
    for seed in range(12):
        torch.manual_seed(seed)
        image, mask = preset(*pattern())
        assert image.shape == (3, 80, 112) and mask.shape == (80, 112) and mask.dtype == torch.int64
        mask = mask.numpy()
        from_pixels = category_from_pixels(image)
        inside = interior(mask)
        labelled = inside & (mask != 0)
        assert (from_pixels[labelled] == mask[labelled]).mean() > 0.99
        fill = inside & (mask == 0)  # rotation/translation/padding fill: void in the mask, black in the image
        assert (from_pixels[fill] == 0).all()
        outputs.append(mask)
    # The augmentation really moved things: flips, rotations and fills happened across seeds.
    assert len({m.tobytes() for m in outputs}) == len(outputs)
    assert sum((m == 0).any() for m in outputs) >= 3
    assert any((m[:, :10] == 7).mean() > 0.5 or (m[:, -10:] == 1).mean() > 0.5 for m in outputs)


def test_mask_uses_nearest_resampling():
    """Blocks of ids 1 and 7 only: any resampling that blends (bilinear, bicubic) writes ids 2..6 on their edges."""
    ids = np.kron(np.array([[1, 7, 1, 7], [7, 1, 7, 1]], dtype=np.uint8), np.ones((48, 32), dtype=np.uint8))
    image = tv_tensors.Image(torch.from_numpy(np.repeat(ids[None] * STEP, 3, axis=0)))
    preset = TrainPreset(short_side=96, crop=(80, 112), degrees=20, color_jitter=0.4)
    for seed in range(5):
        torch.manual_seed(seed)
        _, mask = preset(image, tv_tensors.Mask(torch.from_numpy(ids)))
        assert set(mask.unique().tolist()) <= {0, 1, 7}  # the two ids and void fill, nothing blended


def test_eval_preset_prepares_the_image_as_serving_does_and_keeps_the_mask():
    image, mask = pattern(96, 128)
    out_image, out_mask = EvalPreset(short_side=48)(image, mask)
    assert out_image.shape == (3, 48, 64) and out_image.dtype == torch.float32
    served = model_input(image.permute(1, 2, 0).numpy(), 48)  # what the handler feeds the model
    assert np.array_equal(out_image.numpy(), served)
    assert torch.equal(out_mask, mask.as_subclass(torch.Tensor).long())
