import dataclasses
import json
import os
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from handler import archive
from roadseg.catalogue import ShippedModel
from segmenter.onnx_model import OnnxModel
from segmenter.segmenter import Segmenter
from segmenter.weights import model_from_config
from tests.archives import build_constant_archive, constant_model, write_constant_model, write_constant_onnx
from tests.training.helpers import quick_train_argv
from training import export, train
from training.onnx_export import export_onnx

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_archived(path, threads=None):
    """The archived model and its config, as the handler's Segmenter loads them (fp32)."""
    segmenter = Segmenter.load(path, threads, precision="fp32")
    return segmenter.model, segmenter.config


def manifest_and_config(path: Path) -> tuple[dict, dict, list[str]]:
    with zipfile.ZipFile(path) as mar:
        return json.loads(mar.read("MAR-INF/MANIFEST.json")), json.loads(mar.read("model_config.json")), mar.namelist()


def test_archive_from_a_training_checkpoint_loads_back_the_same_model(camvid_root, tmp_path):
    run = tmp_path / "run"
    train.main(train.parse_config(quick_train_argv(camvid_root, run, epochs=1)))
    path = tmp_path / "store" / "m.mar"
    archive.main(["build", "--checkpoint", str(run / "best.pt"), "--version", "2.3", "--output", str(path)])
    manifest, config, names = manifest_and_config(path)
    assert manifest["model"]["modelName"] == "roadseg" and manifest["model"]["modelVersion"] == "2.3"
    assert manifest["model"]["handler"] == "segmentation_handler.py"
    assert config["model"] == "unet_mini" and config["short_side"] == 48 and config["version"] == "2.3"
    assert {"weights.safetensors", "model-config.yaml"} <= set(names)
    model, loaded = load_archived(path)
    trained = torch.load(run / "best.pt", weights_only=False)["model"]
    assert loaded.model == "unet_mini" and loaded.version == "2.3"
    assert all(torch.equal(model.state_dict()[k], v.float()) for k, v in trained.items() if v.is_floating_point())


def test_archive_of_a_fresh_model_carries_the_serving_options(tmp_path):
    config, state = archive.untrained_source("dilatednet", 0.25, 96)
    path = archive.build_archive(
        config, state, "0.1", tmp_path / "x.mar", options=archive.ServingOptions(batch_size=6, max_batch_delay_ms=5)
    )
    _, stored, _ = manifest_and_config(path)
    assert stored["model"] == "dilatednet" and stored["model_kwargs"] == {"width": 0.25}
    with zipfile.ZipFile(path) as mar:
        yaml = mar.read("model-config.yaml").decode()
    assert "batchSize: 6" in yaml and "maxBatchDelay: 5" in yaml


def test_half_archive_loads_back_as_fp32_close_to_the_original(tmp_path):
    config, state = constant_model(4)
    path = archive.build_archive(config, state, "1.0", tmp_path / "h.mar", half=True)
    with zipfile.ZipFile(path) as mar:
        mar.extract("weights.safetensors", tmp_path)
    stored = load_file(tmp_path / "weights.safetensors").values()
    assert {t.dtype for t in stored if t.is_floating_point()} == {torch.float16}
    model, _ = load_archived(path)
    for key, value in model.state_dict().items():
        assert value.dtype == state[key].dtype
        assert torch.allclose(value, state[key].to(value.dtype), atol=1e-2, rtol=1e-3)


def test_export_writes_fp16_weights_that_build_an_archive(camvid_root, tmp_path):
    run = tmp_path / "run"
    train.main(train.parse_config(quick_train_argv(camvid_root, run, epochs=1)))
    weights, config = export.main(
        export.get_args_parser().parse_args(
            ["--checkpoint", str(run / "best.pt"), "--output", str(tmp_path / "models" / "m")]
        )
    )
    tensors = load_file(weights)
    assert {t.dtype for t in tensors.values() if t.is_floating_point()} == {torch.float16}
    meta = json.loads(config.read_text())
    assert meta["display_name"] == "U-Net Mini (width 0.25)" and meta["best_epoch"] == 1
    path = tmp_path / "store" / "e.mar"
    archive.main(["build", "--weights", str(weights), "--version", "1.5", "--output", str(path)])
    assert manifest_and_config(path)[1]["model"] == "unet_mini"


def test_archive_with_an_onnx_graph_is_served_by_onnx_runtime_with_the_same_logits(tmp_path):
    config, state = archive.untrained_source("unet_mini", 0.25, 64, seed=3)
    weights, config_path = tmp_path / "m.safetensors", tmp_path / "m.json"
    save_file({k: v.contiguous() for k, v in state.items()}, weights)
    config_path.write_text(config.to_json())
    model = model_from_config(config, state).eval()
    graph = export_onnx(model, tmp_path / "m.onnx", 64)
    path = tmp_path / "store" / "o.mar"
    argv = ["build", "--weights", str(weights), "--onnx", str(graph), "--version", "4.0", "--output", str(path)]
    archive.main(argv)
    _, stored, names = manifest_and_config(path)
    assert stored["runtime"] == "onnxruntime" and stored["version"] == "4.0"
    assert "model.onnx" in names and "weights.safetensors" not in names
    served, _ = load_archived(path, threads=1)
    assert isinstance(served, OnnxModel)
    x = torch.randn(2, 3, 64, 90)
    with torch.inference_mode():
        assert torch.allclose(served(x), model(x), atol=1e-3)


@pytest.mark.parametrize("flags, expected", [([], "auto"), (["--precision", "bf16"], "bf16")])
def test_archive_records_the_precision_it_runs_at(tmp_path, flags, expected):
    path = tmp_path / "b.mar"
    archive.main(["build", "--init", "unet_mini", "--width", "0.25", "--version", "0.2", "--output", str(path), *flags])
    _, stored, _ = manifest_and_config(path)
    assert stored["precision"] == expected and stored["runtime"] == "torch"


def test_an_archive_refuses_a_graph_onnx_runtime_cannot_load(tmp_path):
    config, state = constant_model(2)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a graph")
    with pytest.raises(ValueError, match="is not an ONNX graph that ONNX Runtime can load"):
        archive.build_archive(config, state, "1.0", tmp_path / "x.mar", onnx=broken)
    assert not (tmp_path / "x.mar").exists()


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    shipped = tuple(dataclasses.replace(m, models_dir=folder) for m in archive.SHIPPED_MODELS)
    monkeypatch.setattr(archive, "SHIPPED_MODELS", shipped)
    return folder


def ship(models_dir: Path, stem: str, category: int, onnx_suffix: str | None = None) -> None:
    weights, config = write_constant_model(models_dir / "staging", category)
    weights.rename(models_dir / f"{stem}.safetensors")
    config.rename(models_dir / f"{stem}.json")
    if onnx_suffix:
        write_constant_onnx(models_dir / f"{stem}{onnx_suffix}", category)


def test_untrained_placeholder_is_built_when_no_weights_are_shipped(tmp_path, models_dir):
    [path] = archive.ensure_archives(tmp_path / "store")
    assert path.name == "roadseg_v0.1.mar"
    _, config, _ = manifest_and_config(path)
    assert config["model"] == "vgg16_unet" and config["version"] == "0.1"
    built = path.stat().st_mtime_ns
    assert archive.ensure_archives(tmp_path / "store")[0].stat().st_mtime_ns == built  # kept, not rebuilt


def test_every_shipped_version_gets_its_archive_default_first(tmp_path, models_dir):
    ship(models_dir, "vgg16_unet_v1.0", 3)
    ship(models_dir, "vgg16_unet_v2.0", 6, ".int8.onnx")
    ship(models_dir, "vgg16_unet_v3.0", 7, ".int8.onnx")
    paths = archive.ensure_archives(tmp_path / "store")
    assert [p.name for p in paths] == ["roadseg_v3.0.mar", "roadseg_v2.0.mar", "roadseg_v1.0.mar"]
    configs = [manifest_and_config(p)[1] for p in paths]
    assert [(c["version"], c["runtime"]) for c in configs] == [
        ("3.0", "onnxruntime"),
        ("2.0", "onnxruntime"),
        ("1.0", "torch"),
    ]
    assert archive.torchserve_models(paths) == ",".join(f"roadseg={p.name}" for p in paths)
    for path, category in zip(paths, (7, 6, 3), strict=True):
        model, _ = load_archived(path)
        assert (model(torch.zeros(1, 3, 64, 96)).argmax(1) == category).all()


def test_a_real_time_model_is_archived_and_served_under_its_own_name(tmp_path, models_dir, monkeypatch):
    shipped = (
        ShippedModel("roadseg", "3.0", "design", "safetensors", "cityscapes", models_dir),
        ShippedModel("roadseg-rt", "1.0", "rt", "int8.onnx", "cityscapes", models_dir),
    )
    monkeypatch.setattr(archive, "SHIPPED_MODELS", shipped)
    ship(models_dir, "design", 3)
    ship(models_dir, "rt", 7, ".int8.onnx")
    paths = archive.ensure_archives(tmp_path / "store")
    assert [p.name for p in paths] == ["roadseg_v3.0.mar", "roadseg-rt_v1.0.mar"]
    assert archive.torchserve_models(paths) == "roadseg=roadseg_v3.0.mar,roadseg-rt=roadseg-rt_v1.0.mar"
    manifest, config, _ = manifest_and_config(paths[1])
    assert manifest["model"]["modelName"] == "roadseg-rt"
    assert (config["name"], config["version"], config["runtime"]) == ("roadseg-rt", "1.0", "onnxruntime")


def test_archive_model_name_reads_the_name_back_and_refuses_other_files():
    assert archive.archive_model_name(Path("roadseg-rt_v1.0.mar")) == "roadseg-rt"
    assert archive.archive_model_name(Path("store/roadseg_v2.0.mar")) == "roadseg"
    with pytest.raises(ValueError, match=r"NAME_vVERSION\.mar"):
        archive.archive_model_name(Path("roadseg.mar"))


def test_archive_is_rebuilt_from_newer_shipped_weights(tmp_path, models_dir):
    ship(models_dir, "vgg16_unet_v1.0", 3)
    store = tmp_path / "store"
    store.mkdir()
    (store / "roadseg_v1.0.mar").write_bytes(b"old")
    os.utime(store / "roadseg_v1.0.mar", (0, 0))
    [path] = archive.ensure_archives(store)
    assert manifest_and_config(path)[1]["version"] == "1.0"


def test_an_archive_built_for_another_runtime_is_rebuilt(tmp_path, models_dir):
    ship(models_dir, "vgg16_unet_v2.0", 6, ".int8.onnx")
    store = tmp_path / "store"
    build_constant_archive(store, 6, "2.0", "roadseg_v2.0.mar")  # newer than the sources, but PyTorch's
    [path, *_] = archive.ensure_archives(store)
    assert manifest_and_config(path)[1]["runtime"] == "onnxruntime"
    built = path.stat().st_mtime_ns
    assert archive.ensure_archives(store)[0].stat().st_mtime_ns == built  # now up to date: kept


def test_an_archive_built_with_other_serving_options_is_rebuilt(tmp_path, models_dir):
    ship(models_dir, "vgg16_unet_v1.0", 3)
    store = tmp_path / "store"
    build_constant_archive(store, 3, "1.0", "roadseg_v1.0.mar", archive.ServingOptions(batch_size=1))
    [path] = archive.ensure_archives(store)
    with zipfile.ZipFile(path) as built:
        assert built.read("model-config.yaml").decode() == archive.ServingOptions().yaml()


def test_an_archive_older_than_the_handler_it_carries_is_rebuilt(tmp_path, models_dir):
    ship(models_dir, "vgg16_unet_v1.0", 3)
    store = tmp_path / "store"
    [path] = archive.ensure_archives(store)
    for source in models_dir.glob("vgg16_unet_v1.0.*"):
        os.utime(source, (0, 0))
    os.utime(path, (1000, 1000))  # newer than the weights, older than handler/segmentation_handler.py
    [rebuilt] = archive.ensure_archives(store)
    assert rebuilt.stat().st_mtime > archive.HANDLER.stat().st_mtime - 1


def test_config_properties_loads_the_shipped_versions_default_first():
    """config.properties (TorchServe started without --models) agrees with handler.archive."""
    lines = (REPO_ROOT / "config.properties").read_text().splitlines()
    [load_models] = [line.split("=", 1)[1] for line in lines if line.startswith("load_models=")]
    expected = [Path(m.archive_name) for m in archive.SHIPPED_MODELS]
    assert load_models == archive.torchserve_models(expected)
    assert archive.SHIPPED_MODELS[0].version == "3.0"
    assert all(m.is_present() for m in archive.SHIPPED_MODELS)  # every version is committed
    assert archive.SHIPPED_MODELS[0].onnx is not None  # the default is served by ONNX Runtime (INT8)


def test_constant_archive_helper_answers_its_category(tmp_path):
    path = build_constant_archive(tmp_path, 5, "9.9", "c.mar")
    model, config = load_archived(path)
    logits = model(torch.zeros(1, 3, 64, 64))
    assert config.version == "9.9" and (logits.argmax(1) == 5).all()
