import json

import pytest

from roadseg.model_config import ModelConfig


def test_round_trip_through_json_and_archive_fields():
    config = ModelConfig("vgg16_unet", {"width": 0.5}, 360, "camvid")
    stored = json.loads(config.for_archive("roadseg", "2.0", runtime="onnxruntime").to_json())
    assert stored == {
        "model": "vgg16_unet",
        "model_kwargs": {"width": 0.5},
        "short_side": 360,
        "dataset": "camvid",
        "name": "roadseg",
        "version": "2.0",
        "runtime": "onnxruntime",
        "precision": "auto",
    }
    assert ModelConfig.from_dict(stored).width == 0.5 and "version" not in config.to_dict()
    assert ModelConfig.from_dict(stored).runtime == "onnxruntime" and config.runtime == "torch"


@pytest.mark.parametrize("field, value", [("runtime", "tensorrt"), ("precision", "fp8")])
def test_an_unknown_runtime_or_precision_is_refused_with_the_choices(field, value):
    with pytest.raises(ValueError, match=f"unknown {field} '{value}'; choose one of"):
        ModelConfig.from_dict({"model": "unet_mini", field: value})


def test_exported_metadata_is_ignored_and_a_missing_name_is_refused(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"model": "unet_mini", "short_side": 48, "val_miou": 0.5, "max_pixels": 9}))
    assert ModelConfig.read(path) == ModelConfig("unet_mini", {}, 48)
    with pytest.raises(ValueError, match="registry name"):
        ModelConfig.from_dict({"short_side": 48})
