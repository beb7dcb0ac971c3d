import pytest
from PIL import Image

from roadseg.images import SUPPORTED_FORMATS
from roadseg.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, media_kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a/b.PNG", "image"), ("x.jpeg", "image"), ("x.tif", "image"), ("clip.MP4", "video"), ("c.webm", "video")],
)
def test_a_file_is_an_image_or_a_video_by_its_extension(name, kind):
    assert media_kind(name) == kind


@pytest.mark.parametrize("name", ["notes.txt", "archive.mar", "noextension", "x.gif"])
def test_other_files_are_neither(name):
    assert media_kind(name) is None


def test_every_image_extension_is_a_format_the_decoder_accepts():
    Image.init()
    for extension in IMAGE_EXTENSIONS:
        assert Image.registered_extensions()[f".{extension}"] in SUPPORTED_FORMATS
    assert not set(IMAGE_EXTENSIONS) & set(VIDEO_EXTENSIONS)
