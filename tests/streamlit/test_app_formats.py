"""The app's file picker takes every format the API reads."""

from PIL import Image

from roadseg.images import SUPPORTED_FORMATS
from roadseg.media import IMAGE_EXTENSIONS


def test_every_extension_opens_as_a_supported_format(tmp_path):
    for extension in IMAGE_EXTENSIONS:
        path = tmp_path / f"x.{extension}"
        Image.new("RGB", (4, 3)).save(path)
        with Image.open(path) as image:
            assert image.format in SUPPORTED_FORMATS, extension
    registered = {ext.lstrip(".") for ext, fmt in Image.registered_extensions().items() if fmt in SUPPORTED_FORMATS}
    assert registered >= set(IMAGE_EXTENSIONS)
