import json
import os
import zipfile
from pathlib import Path

import pytest

from stack import archive as stack_archive
from tests.archives import write_constant_model

REPO_ROOT = Path(__file__).resolve().parents[2]


def archive_config(path: Path) -> dict:
    with zipfile.ZipFile(path) as mar:
        return json.loads(mar.read("model_config.json"))


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setattr(stack_archive, "MODELS_DIR", folder)
    return folder


def ship(models_dir: Path, stem: str, category: int) -> None:
    weights, config = write_constant_model(models_dir / "staging", category)
    weights.rename(models_dir / f"{stem}.safetensors")
    config.rename(models_dir / f"{stem}.json")


def test_untrained_placeholder_is_built_when_no_weights_are_shipped(tmp_path, models_dir):
    [path] = stack_archive.ensure_archives(tmp_path / "store")
    assert path.name == "roadseg.mar"
    config = archive_config(path)
    assert config["model"] == "vgg16_unet" and config["version"] == "0.1"
    built = path.stat().st_mtime_ns
    assert stack_archive.ensure_archives(tmp_path / "store")[0].stat().st_mtime_ns == built  # kept, not rebuilt


def test_every_shipped_version_gets_its_archive_default_first(tmp_path, models_dir):
    ship(models_dir, "vgg16_unet_v1.0", 3)
    ship(models_dir, "vgg16_unet_v2.0", 6)
    paths = stack_archive.ensure_archives(tmp_path / "store")
    assert [p.name for p in paths] == ["roadseg_v2.0.mar", "roadseg_v1.0.mar"]
    assert [archive_config(p)["version"] for p in paths] == ["2.0", "1.0"]
    assert stack_archive.torchserve_models(paths) == "roadseg=roadseg_v2.0.mar,roadseg=roadseg_v1.0.mar"


def test_archive_is_rebuilt_from_newer_shipped_weights(tmp_path, models_dir):
    ship(models_dir, "vgg16_unet_v1.0", 3)
    store = tmp_path / "store"
    store.mkdir()
    (store / "roadseg_v1.0.mar").write_bytes(b"old")
    os.utime(store / "roadseg_v1.0.mar", (0, 0))
    [path] = stack_archive.ensure_archives(store)
    assert archive_config(path)["version"] == "1.0"


def test_config_properties_loads_the_shipped_versions_default_first():
    """config.properties (TorchServe started without --models) agrees with stack.archive."""
    lines = (REPO_ROOT / "config.properties").read_text().splitlines()
    [load_models] = [line.split("=", 1)[1] for line in lines if line.startswith("load_models=")]
    expected = [Path(m.archive_name) for m in stack_archive.SHIPPED_MODELS]
    assert load_models == stack_archive.torchserve_models(expected)
    assert stack_archive.SHIPPED_MODELS[0].version == "2.0"
    assert all(m.is_present() for m in stack_archive.SHIPPED_MODELS)  # both versions are committed
