import json

import pytest
import torch

from segmenter import precision
from segmenter.models import build_model
from tests.training.helpers import quick_train_argv
from training import train


def test_auto_is_bf16_on_cuda_and_on_cpus_with_bf16_else_fp32():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert precision.resolve_precision("auto", cpu, has_bf16_cpu=True) == "bf16"
    assert precision.resolve_precision("auto", cpu, has_bf16_cpu=False) == "fp32"
    assert precision.resolve_precision("auto", cuda, has_bf16_cpu=False) == "bf16"
    assert precision.resolve_precision("fp32", cuda) == "fp32"  # an explicit choice is kept
    assert precision.resolve_precision("bf16", cpu, has_bf16_cpu=False) == "bf16"
    with pytest.raises(ValueError, match="unknown precision"):
        precision.resolve_precision("fp16", cpu)


def test_cpu_bf16_is_read_from_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert precision.cpu_has_bf16(cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 fma\n")
    assert not precision.cpu_has_bf16(cpuinfo)
    assert not precision.cpu_has_bf16(tmp_path / "missing")  # no /proc (macOS...): fp32


def test_bf16_puts_the_model_in_channels_last():
    model = precision.prepare_model(build_model("unet_mini", width=0.25), "bf16")
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    model = precision.prepare_model(build_model("unet_mini", width=0.25), "fp32")
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()


def test_bf16_channels_last_training_runs_and_learns_on_the_fixture(camvid_root, tmp_path):
    out = tmp_path / "bf16"
    summary = train.main(train.parse_config(quick_train_argv(camvid_root, out, "--precision", "bf16", epochs=2)))
    history = json.loads((out / "history.json").read_text())
    assert summary["precision"] == "bf16" and summary["budget"]["precision"] == "bf16"
    assert history[1]["train_loss"] < history[0]["train_loss"]
    assert all(row["epoch_seconds"] > 0 and row["train_images_per_second"] > 0 for row in history)
    assert 0 <= summary["data_wait_share"] <= 1


def test_auto_falls_back_to_fp32_where_the_cpu_has_no_bf16(camvid_root, tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    summary = train.main(train.parse_config(quick_train_argv(camvid_root, tmp_path / "run", epochs=1)))
    assert summary["precision"] == "fp32"
