import io

import numpy as np
import torch
from PIL import Image

from handler.responses import mask_png
from segmenter.segmenter import confidence_at_size


def test_mask_png_holds_the_ids_and_on_request_the_confidence_from_the_same_logits():
    logits = torch.zeros((8, 2, 3))
    logits[3, 0, 0] = float(np.log(21))
    logits[6, 1, 2] = 5.0
    ids = Image.open(io.BytesIO(mask_png(logits, (4, 6))))
    assert ids.mode == "L" and ids.size == (6, 4) and set(np.unique(np.asarray(ids))) <= {0, 3, 6}
    both = np.asarray(Image.open(io.BytesIO(mask_png(logits, (2, 3), with_confidence=True))))
    assert both[..., 0].tolist() == [[3, 0, 0], [0, 0, 6]]
    assert both[..., 1].tolist() == confidence_at_size(logits, (2, 3)).tolist()
