from pathlib import Path

import pytest

from roadseg.catalogue import SHIPPED_MODELS
from training.config import TrainConfig
from training.recipes import load_recipe
from training.ship import stem_of

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
ALL = sorted(RECIPES.rglob("*.toml"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(RECIPES)))
def test_every_recipe_and_each_of_its_variants_is_a_valid_training_config(path):
    recipe = load_recipe(path)
    for changes in [{}, *recipe.variants.values()]:
        config = TrainConfig.from_table({**recipe.train, **changes}, Path("/data"), output="runs/x")
        for weights in (config.init_weights, config.teacher):
            assert weights is None or (RECIPES.parent / weights).is_file(), f"{path}: {weights} is not in models/"


def test_every_shipped_model_has_its_recipe_and_it_names_the_catalogues_stem():
    shipped = {(r.ship["name"], r.ship["version"]): r for r in map(load_recipe, ALL) if r.ship}
    for model in SHIPPED_MODELS:
        recipe = shipped.get((model.name, model.version))
        assert recipe is not None, f"no recipe ships {model.name} {model.version}"
        assert stem_of(recipe) == model.stem
        datasets = [recipe.train["dataset"], *([recipe.train["mix_dataset"]] if "mix_dataset" in recipe.train else [])]
        assert "+".join(datasets) == model.dataset
        assert recipe.ship.get("served", "int8.onnx") == model.served


@pytest.mark.parametrize(
    ("text", "message"),
    [("[train\n", "not valid TOML"), ("[training]\n", "unknown sections training"), ("[ship]\n", "no \\[train\\]")],
)
def test_a_broken_recipe_file_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(SystemExit, match=message):
        load_recipe(path)
    with pytest.raises(SystemExit, match="no recipe at"):
        load_recipe(tmp_path / "missing.toml")
