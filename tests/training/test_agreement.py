from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from segmenter.weights import model_from_config
from tests.archives import constant_model
from training import agreement

FIXTURE_CAMVID = Path(__file__).resolve().parents[1] / "fixtures" / "camvid_val"


@pytest.fixture(scope="module")
def loader():
    return agreement.split_loader("camvid", FIXTURE_CAMVID, "val", 64)


def test_a_variant_identical_to_the_reference_agrees_everywhere(loader):
    torch.manual_seed(0)
    model = model_from_config(constant_model(3)[0]).eval()  # random weights: a non-trivial mask
    result = agreement.agreement_on_split(agreement.Variant("a", model), [agreement.Variant("b", model)], loader)
    assert result["b"]["pixel_agreement"] == 1.0 and result["b"]["miou_change"] == 0.0
    assert result["reference"]["name"] == "a" and set(result["b"]["iou"]) == set(result["reference"]["iou"])


def test_agreement_counts_the_pixels_where_two_models_differ(loader):
    sky = model_from_config(*constant_model(5)).eval()
    flat = model_from_config(*constant_model(1)).eval()
    result = agreement.agreement_on_split(agreement.Variant("sky", sky), [agreement.Variant("flat", flat)], loader)
    assert result["flat"]["pixel_agreement"] == 0.0
    assert result["reference"]["iou"]["sky"] > 0 and result["reference"]["iou"]["flat"] == 0.0
    assert result["flat"]["iou"]["flat"] > 0 and result["flat"]["miou_change"] != 0


def test_cli_writes_the_figures_of_each_variant(tmp_path):
    torch.manual_seed(0)
    config, state = constant_model(2)
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "c.safetensors")
    (tmp_path / "c.json").write_text(config.to_json())
    result = agreement.main(
        agreement.get_args_parser().parse_args(
            [
                "--weights",
                str(tmp_path / "c.safetensors"),
                "--dataset",
                "camvid",
                "--data-root",
                str(FIXTURE_CAMVID),
                "--precision",
                "bf16",
                "--limit",
                "2",
                "--json",
                str(tmp_path / "out.json"),
            ]
        )
    )
    assert result["images"] == 2 and result["torch bf16"]["pixel_agreement"] == 1.0
    assert (tmp_path / "out.json").exists()
