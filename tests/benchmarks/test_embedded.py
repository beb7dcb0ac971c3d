"""The embedded table end to end on tiny models and the Cityscapes-layout fixture (the timings are not asserted)."""

import json
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file

from benchmarks import embedded
from roadseg.catalogue import SHIPPED_MODELS
from roadseg.model_config import ModelConfig
from segmenter.weights import load_model, model_from_config
from tests.conftest import write_cityscapes
from training.recipes import load_recipe


def export_untrained(folder, model: str, short_side: int = 32):
    torch.manual_seed(0)
    config = ModelConfig(model, {"width": 0.25}, short_side, "fixture")
    path = folder / f"{model}.safetensors"
    save_file({k: v.contiguous() for k, v in model_from_config(config).state_dict().items()}, path)
    path.with_suffix(".json").write_text(config.to_json())
    return path


IOUS = dict(zip(embedded.CATEGORIES, (0.9, 0.6, 0.1, 0.7, 0.8, 0.2, 0.5), strict=True))


def write_comparison(path, rows: dict[str, dict[str, float]]):
    header = ["model", *embedded.CATEGORIES, "miou"]
    lines = [",".join([name, *map(str, ious.values()), "0.543"]) for name, ious in rows.items()]
    path.write_text("\n".join([",".join(header), *lines]) + "\n")
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One run of the page (it spawns a process per runtime): a model with weights (U-Net Mini, width 0.25) and an
    architecture without (DDRNet-23-slim, untrained, accuracy from a comparison CSV); small frames, same code."""
    tmp_path = tmp_path_factory.mktemp("embedded")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embedded, "SIZES", ((128, 64), (96, 72)))
        root = write_cityscapes(tmp_path / "cityscapes", {"train": 4, "val": 2})
        comparison = write_comparison(tmp_path / "comparison.csv", {"DDRNet-23-slim": IOUS})
        argv = ["--models", str(export_untrained(tmp_path, "unet_mini")), "--architectures", "ddrnet23_slim"]
        argv += ["--comparison", str(comparison), "--short-side", "32", "--dataset", "cityscapes"]
        argv += ["--data-root", str(root), "--runs", "2", "--work-dir", str(tmp_path / "work")]
        output = tmp_path / "EMBEDDED.md"
        page = embedded.main(embedded.get_args_parser().parse_args([*argv, "--output", str(output)]))
    return SimpleNamespace(argv=argv, root=root, comparison=comparison, output=output, page=page, tmp=tmp_path)


def test_the_page_has_a_row_per_model_with_its_int8_agreement_and_each_category(bench):
    page, output = bench.page, bench.output
    assert output.read_text() == page
    rows = json.loads(output.with_suffix(".json").read_text())["rows"]
    assert [r["key"] for r in rows] == ["unet_mini", "ddrnet23_slim"]
    row = rows[0]
    figures = row["accuracy"]["figures"]
    assert 0 <= figures["reference"]["miou"] <= 1 and 0 <= figures[embedded.INT8]["pixel_agreement"] <= 1
    assert set(figures["reference"]["iou"]) == set(embedded.CATEGORIES)
    assert row["speed"][embedded.FP32]["128x64"] > 0 and row["speed"][embedded.INT8]["peak_rss_mb"] > 50
    assert row["accuracy"]["int8_mb"] > 0 and row["params_m"] > 0
    assert f"| {row['name']} (`{row['key']}`) |" in page
    # the same INT8 graph without PyTorch in the process: less memory
    assert row["embedded"]["128x64"] > 0 and row["embedded"]["peak_rss_mb"] < row["speed"][embedded.INT8]["peak_rss_mb"]
    assert "## The embedded runtime: no PyTorch" in page
    install = json.loads(output.with_suffix(".json").read_text())["machine"]["install_mb"]
    assert 0 < install["embedded"] < install["runtime"]
    assert page.count("| U-Net Mini (width 0.25) |") == 1  # the per-category table
    assert "| GMACs 128x64 |" in page and rows[0]["gmacs_full"] > rows[0]["gmacs_served"]  # MACs at the first size


def test_a_model_s_accuracy_is_cached_until_its_weights_change(bench):
    source, work = bench.tmp / "unet_mini.safetensors", bench.tmp / "work" / "unet_mini"
    cached = json.loads((work / "accuracy.json").read_text())
    stamp = (work / "accuracy.json").stat().st_mtime_ns
    loaded = load_model(source)
    assert embedded.accuracy(source, loaded, "cityscapes", bench.root, work, None) == cached
    assert (work / "accuracy.json").stat().st_mtime_ns == stamp  # not evaluated again
    assert embedded.accuracy(source, loaded, "cityscapes", bench.root, work, 1)["images"] == 1  # another limit: again


def test_an_architecture_without_weights_is_timed_untrained_with_its_comparison_accuracy(bench):
    _, architecture = json.loads(bench.output.with_suffix(".json").read_text())["rows"]
    assert architecture["key"] == "ddrnet23_slim" and architecture["from_comparison"]
    assert architecture["accuracy"]["figures"] == {"reference": {"miou": 0.543, "iou": IOUS}}
    assert 5.5 < architecture["params_m"] < 5.9 and architecture["accuracy"]["int8_mb"] > 0  # the full-width model
    assert architecture["speed"][embedded.INT8]["128x64"] > 0
    [line] = [row for row in bench.page.splitlines() if row.startswith("| DDRNet-23-slim (`ddrnet23_slim`)")]
    assert "| 0.543 † | not measured | – |" in line
    assert f"accuracy is the model's row of its comparison ({bench.comparison}" in bench.page
    assert "| DDRNet-23-slim † | 0.900 |" in bench.page  # per category, from the comparison
    assert "†" not in next(row for row in bench.page.splitlines() if row.startswith("| U-Net Mini (width 0.25) (`"))


def test_an_architecture_missing_from_the_comparison_stops_the_run_before_measuring(bench, tmp_path):
    argv = [*bench.argv, "--comparison", str(write_comparison(tmp_path / "other.csv", {}))]
    argv[argv.index("--work-dir") + 1] = str(tmp_path / "work")
    with pytest.raises(SystemExit, match="no row for DDRNet-23-slim"):
        embedded.main(embedded.get_args_parser().parse_args([*argv, "--output", str(tmp_path / "other.md")]))
    assert not (tmp_path / "work").exists() and not (tmp_path / "other.md").exists()


def test_by_default_the_table_has_every_shipped_cityscapes_model_and_the_other_candidates():
    sources = embedded.shipped_sources("cityscapes")
    assert [source.name for source in sources] == [
        m.weights.name for m in SHIPPED_MODELS if m.dataset.startswith("cityscapes")
    ]
    assert "vgg16_unet_v3.0.safetensors" in {source.name for source in sources}
    others = embedded.candidates(sources)
    assert others and "ddrnet23_slim" not in others  # roadseg-rt 1.0 has its row with its weights
    assert set(others) <= {v["model"] for v in load_recipe(embedded.REALTIME_COMPARISON).variants.values()}
