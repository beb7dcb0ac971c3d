from pathlib import Path

import pytest

from training import train
from training.config import TrainConfig


def test_a_recipe_table_takes_its_data_roots_from_the_data_folder_and_its_defaults_from_the_config():
    config = TrainConfig.from_table(
        {"model": "vgg16_unet", "dataset": "cityscapes", "mix_dataset": "camvid", "crop": [256, 512]},
        Path("/data"),
        output="runs/x",
    )
    assert config.data_root == Path("/data/cityscapes") and config.mix_data_root == Path("/data/camvid")
    assert config.output == Path("runs/x") and config.crop == (256, 512) and config.epochs == 50
    assert config.changed() == {
        "model": "vgg16_unet",
        "dataset": "cityscapes",
        "data_root": Path("/data/cityscapes"),
        "output": Path("runs/x"),
        "crop": (256, 512),
        "mix_dataset": "camvid",
        "mix_data_root": Path("/data/camvid"),
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"model": "vgg16_unet", "dataset": "camvid", "epoch": 3}, "unknown training settings: epoch"),
        ({"model": "vgg16_unet", "data_root": "."}, "missing training settings: dataset"),
        ({"model": "vgg17", "dataset": "camvid"}, "model = 'vgg17' is not one of"),
        ({"model": "vgg16_unet", "dataset": "camvid", "loss": "mse"}, "loss = 'mse' is not one of"),
        ({"model": "vgg16_unet", "dataset": "camvid", "train_share": 0}, "train_share must be in"),
        ({"model": "vgg16_unet", "dataset": "camvid", "unlabelled_repeat": 1}, "needs a teacher"),
    ],
)
def test_a_bad_recipe_table_says_what_is_wrong(table, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_table(table, Path("/data"), output="runs/x")


def test_the_command_line_overrides_the_recipe_which_overrides_the_defaults(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[train]\nmodel = "unet_mini"\ndataset = "camvid"\nepochs = 7\nlr = 0.01\ncompile = true\n')
    config = train.parse_config(
        ["--recipe", str(recipe), "--data-dir", str(tmp_path), "--output", "out", "--epochs", "2"]
    )
    assert (config.epochs, config.lr, config.compile, config.batch_size) == (2, 0.01, True, 8)
    assert config.data_root == tmp_path / "camvid"
    plain = train.parse_config(["--model", "unet_mini", "--dataset", "camvid", "--data-root", ".", "--output", "o"])
    assert plain == TrainConfig("unet_mini", "camvid", Path("."), Path("o"))
    with pytest.raises(SystemExit, match="missing training settings: output"):
        train.parse_config(["--recipe", str(recipe), "--data-dir", str(tmp_path)])
