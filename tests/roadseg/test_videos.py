import io

from roadseg.videos import decoded_frame_count
from tests.videos import write_clip


def test_the_frames_of_a_file_and_of_its_bytes_are_counted(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=7)
    assert decoded_frame_count(clip) == 7
    assert decoded_frame_count(io.BytesIO(clip.read_bytes())) == 7
