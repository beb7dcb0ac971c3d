import json
import zipfile

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
