import json
import zipfile

import torch

from tests.training.helpers import quick_train_argv
from training import archive, train


def manifest_and_config(path):
    with zipfile.ZipFile(path) as mar:
        return json.loads(mar.read("MAR-INF/MANIFEST.json")), json.loads(mar.read("model_config.json")), mar.namelist()


def test_archive_from_a_training_checkpoint(camvid_root, tmp_path):
    run = tmp_path / "run"
    train.main(train.get_args_parser().parse_args(quick_train_argv(camvid_root, run, epochs=1)))
    path = archive.build_archive(archive.get_args_parser().parse_args(
        ["--checkpoint", str(run / "best.pt"), "--version", "2.3", "--export-path", str(tmp_path / "store"), "--half"]))
    manifest, config, names = manifest_and_config(path)
    assert manifest["model"]["modelName"] == "roadseg" and manifest["model"]["modelVersion"] == "2.3"
    assert manifest["model"]["handler"] == "segmentation_handler.py"
    assert config["model"] == "unet_mini" and config["short_side"] == 48 and config["version"] == "2.3"
    assert {"weights.safetensors", "model-config.yaml"} <= set(names)


def test_archive_from_a_fresh_model(tmp_path):
    path = archive.build_archive(archive.get_args_parser().parse_args(
        ["--init", "dilatednet", "--width", "0.25", "--version", "0.1", "--export-path", str(tmp_path)]))
    manifest, config, _ = manifest_and_config(path)
    assert config["model"] == "dilatednet" and config["model_kwargs"] == {"width": 0.25}
    with zipfile.ZipFile(path) as mar:
        assert "batchSize: 4" in mar.read("model-config.yaml").decode()


def test_export_writes_fp16_weights_that_build_an_archive(camvid_root, tmp_path):
    from safetensors.torch import load_file

    from training import export

    run = tmp_path / "run"
    train.main(train.get_args_parser().parse_args(quick_train_argv(camvid_root, run, epochs=1)))
    weights, config = export.main(export.get_args_parser().parse_args(
        ["--checkpoint", str(run / "best.pt"), "--output", str(tmp_path / "models" / "m")]))
    tensors = load_file(weights)
    assert {t.dtype for t in tensors.values() if t.is_floating_point()} == {torch.float16}
    meta = json.loads(config.read_text())
    assert meta["display_name"] == "U-Net Mini (width 0.25)" and meta["best_epoch"] == 1
    path = archive.build_archive(archive.get_args_parser().parse_args(
        ["--weights", str(weights), "--config", str(config), "--export-path", str(tmp_path / "store")]))
    assert manifest_and_config(path)[1]["model"] == "unet_mini"
