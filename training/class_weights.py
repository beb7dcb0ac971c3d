"""Class weights against imbalance: median frequency balancing (Eigen & Fergus; SegNet), optionally softened."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CLASS_WEIGHTINGS = ("none", "median_freq", "sqrt_median_freq")


def category_frequencies(masks: Iterable[np.ndarray], num_classes: int) -> np.ndarray:
    """freq(c) = pixels of c / pixels of the images in which c appears (0 for a class never seen)."""
    class_pixels = np.zeros(num_classes, dtype=np.float64)
    present_image_pixels = np.zeros(num_classes, dtype=np.float64)
    for mask in masks:
        counts = np.bincount(np.asarray(mask).ravel(), minlength=num_classes)[:num_classes]
        class_pixels += counts
        present_image_pixels[counts > 0] += mask.size
    return np.divide(class_pixels, present_image_pixels, out=np.zeros(num_classes), where=present_image_pixels > 0)


def median_frequency_weights(frequencies: np.ndarray, power: float = 1.0) -> np.ndarray:
    """(median(freq) / freq(c)) ** power; power 0.5 is the square-root softening. Unseen classes get 0."""
    seen = frequencies > 0
    median = np.median(frequencies[seen])
    weights = np.zeros_like(frequencies)
    weights[seen] = (median / frequencies[seen]) ** power
    return weights


def class_weights(masks: Iterable[np.ndarray], num_classes: int, weighting: str) -> np.ndarray | None:
    """The weights a weighting scheme gives for these masks; None for 'none'."""
    if weighting not in CLASS_WEIGHTINGS:
        raise ValueError(f"unknown class weighting {weighting!r}; choose one of {CLASS_WEIGHTINGS}")
    if weighting == "none":
        return None
    power = 0.5 if weighting == "sqrt_median_freq" else 1.0
    return median_frequency_weights(category_frequencies(masks, num_classes), power)
