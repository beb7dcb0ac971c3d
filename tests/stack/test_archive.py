import json
import os
import zipfile

from stack import archive as stack_archive


def test_untrained_placeholder_is_built_when_no_weights_are_shipped(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_archive, "SHIPPED_WEIGHTS", tmp_path / "missing.safetensors")
    path = stack_archive.ensure_archive(tmp_path / "store")
    with zipfile.ZipFile(path) as mar:
        config = json.loads(mar.read("model_config.json"))
    assert config["model"] == "vgg16_unet" and config["version"] == "0.1"
    built = path.stat().st_mtime_ns
    assert stack_archive.ensure_archive(tmp_path / "store").stat().st_mtime_ns == built  # kept, not rebuilt


def test_archive_is_rebuilt_from_newer_shipped_weights(tmp_path, monkeypatch):
    from tests.archives import write_constant_model

    weights, config = write_constant_model(tmp_path / "models", 3)
    monkeypatch.setattr(stack_archive, "SHIPPED_WEIGHTS", weights)
    monkeypatch.setattr(stack_archive, "SHIPPED_CONFIG", config)
    store = tmp_path / "store"
    store.mkdir()
    (store / "roadseg.mar").write_bytes(b"old")
    os.utime(store / "roadseg.mar", (0, 0))
    path = stack_archive.ensure_archive(store)
    with zipfile.ZipFile(path) as mar:
        assert json.loads(mar.read("model_config.json"))["version"] == "1.0"
