"""The pixel limit: one knob (ROADSEG_MAX_PIXELS) that the gateway and the handler both read."""

from __future__ import annotations

import os
from collections.abc import Mapping

MAX_PIXELS_ENV = "ROADSEG_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 40_000_000  # e.g. 8000x5000; raise it for larger sensors


def max_pixels(environ: Mapping[str, str] = os.environ) -> int:
    """The largest image (width x height) any part decodes: ROADSEG_MAX_PIXELS, else 40 million."""
    value = environ.get(MAX_PIXELS_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_PIXELS_ENV} must be a positive whole number of pixels, not {value!r}")
    return int(value)
