import pytest

from roadseg.limits import DEFAULT_MAX_PIXELS, max_pixels


def test_pixel_limit_comes_from_one_variable():
    assert max_pixels({}) == DEFAULT_MAX_PIXELS
    assert max_pixels({"ROADSEG_MAX_PIXELS": "1234"}) == 1234
    with pytest.raises(ValueError, match="positive whole number"):
        max_pixels({"ROADSEG_MAX_PIXELS": "12e6"})


def test_gateway_settings_read_the_same_variable(monkeypatch):
    from gateway.config import Settings

    monkeypatch.setenv("ROADSEG_MAX_PIXELS", "4321")
    monkeypatch.setenv("GATEWAY_MAX_PIXELS", "99")  # not a second knob
    assert Settings().max_pixels == 4321 == max_pixels()
