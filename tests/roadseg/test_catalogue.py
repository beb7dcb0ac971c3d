import json
from pathlib import Path

import pytest

from roadseg.catalogue import SHIPPED_MODELS, default_versions, read_catalogue
from roadseg.contract import MODEL_NAME, REALTIME_MODEL_NAME

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_catalogued_model_is_committed_with_the_dataset_its_config_names():
    for model in SHIPPED_MODELS:
        assert model.is_present(), model.stem
        first = model.dataset.split("+")[0]  # a model trained on two datasets validates on the first
        assert json.loads(model.config.read_text())["dataset"] == first, model.stem


def test_config_properties_loads_what_the_catalogue_lists_in_its_order():
    lines = (REPO_ROOT / "config.properties").read_text().splitlines()
    [load_models] = [line.split("=", 1)[1] for line in lines if line.startswith("load_models=")]
    assert load_models.split(",") == [f"{m.name}={m.archive_name}" for m in SHIPPED_MODELS]


def test_each_served_name_has_a_default_version():
    defaults = default_versions()
    assert set(defaults) == {MODEL_NAME, REALTIME_MODEL_NAME}
    assert defaults == {m.name: m.version for m in reversed(SHIPPED_MODELS)}  # the first listed wins


def test_a_malformed_entry_is_a_clear_error(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text('[[model]]\nname = "x"\nversion = "1.0"\nstem = "x"\nserved = "pt"\ndataset = "camvid"\n')
    with pytest.raises(ValueError, match="served 'pt'"):
        read_catalogue(path)
    path.write_text('[[model]]\nname = "x"\nversion = "1.0"\n')
    with pytest.raises(ValueError, match="needs exactly"):
        read_catalogue(path)
