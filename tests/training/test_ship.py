import json

import pytest

from training import ship

RECIPE = """
[ship]
name = "roadseg-test"
version = "9.0"
docs = "{docs}"
served = "{served}"
also_evaluate = ["camvid"]
scale_curve = [32, 48]

[train]
model = "unet_mini"
width = 0.25
dataset = "camvid"
epochs = 1
batch_size = 2
eval_batch_size = 2
crop = [48, 64]
short_side = 48
precision = "fp32"
workers = 0
"""


def write_recipe(tmp_path, served="int8.onnx"):
    path = tmp_path / "roadseg-test-9.0.toml"
    path.write_text(RECIPE.format(docs=tmp_path / "docs", served=served))
    return path


def test_the_dry_run_prints_the_plan_from_training_to_the_scale_curve(tmp_path, capsys):
    argv = [str(write_recipe(tmp_path)), "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs")]
    steps = ship.main([*argv, "--dry-run"])
    names = [step.name for step in steps]
    assert names == ["train", "export", "copy", "copy", "evaluate", "evaluate", "quantize", "agreement", "curve"]
    out = capsys.readouterr().out
    assert "training.train --recipe" in out and "--output " + str(tmp_path / "runs" / "unet_mini_v9.0") in out
    assert "--dataset camvid --data-root " + str(tmp_path / "data" / "camvid") in out
    assert "to serve it, add to models/catalogue.toml" in out and 'stem = "unet_mini_v9.0"' in out
    assert not (tmp_path / "runs").exists()  # nothing ran
    run_dir = tmp_path / "runs" / "unet_mini_v9.0"
    run_dir.mkdir(parents=True)
    (run_dir / "last.pt").write_bytes(b"")
    assert "--resume" in ship.main([*argv, "--dry-run"])[0].command  # an interrupted run resumes
    (run_dir / "summary.json").write_text("{}")
    assert ship.main([*argv, "--dry-run"])[0].name == "export"  # a finished run is kept


def test_a_bad_train_table_is_a_one_line_error_naming_the_recipe(tmp_path):
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace('precision = "fp32"', 'precision = "fp8"'))
    with pytest.raises(SystemExit, match=r"roadseg-test-9.0.toml: \[train\]: .*fp8"):
        ship.main([str(path), "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs"), "--dry-run"])


def test_a_recipe_ships_end_to_end(camvid_root, tmp_path):
    models = tmp_path / "models"
    argv = [str(write_recipe(tmp_path, served="safetensors")), "--data-dir", str(camvid_root.parent)]
    steps = ship.main([*argv, "--runs-dir", str(tmp_path / "runs"), "--models-dir", str(models)])
    assert [step.name for step in steps] == ["train", "export", "copy", "copy", "evaluate", "evaluate"]
    assert (models / "unet_mini_v9.0.safetensors").is_file()
    assert json.loads((models / "unet_mini_v9.0.json").read_text())["model"] == "unet_mini"
    docs = tmp_path / "docs"
    assert (docs / "history.csv").is_file() and (docs / "training_curves.png").is_file()
    for name in ("val_metrics.json", "camvid_val_metrics.json"):
        assert 0 <= json.loads((docs / name).read_text())["miou"] <= 1
