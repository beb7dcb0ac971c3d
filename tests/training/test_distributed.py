"""Training under torchrun: two gloo processes train as one run, and the helpers they share."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from segmenter.weights import load_checkpoint
from stack.processes import REPO_ROOT, free_port
from tests.training.helpers import quick_train_argv
from training import distributed
from training import evaluate as evaluate_cli


def torchrun(*argv: str) -> subprocess.CompletedProcess[str]:
    """`torchrun --standalone --nproc-per-node 2 -m training.train ARGV`, one thread per process."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    return subprocess.run(
        [*command, "-m", "training.train", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO_ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_two_gloo_processes_train_one_epoch_as_one_run(camvid_root, tmp_path):
    output = tmp_path / "ddp"
    argv = quick_train_argv(camvid_root, output, "--precision", "fp32", "--eval-batch-size", "1", epochs=1)
    run = torchrun(*argv)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # One log and one run directory, from rank 0; the replicas' weights were compared after the epoch.
    assert run.stdout.count("epoch 1:") == 1 and "on cpu x 2 processes (fp32)" in run.stdout
    assert "8 train / 4 val images" in run.stdout
    assert {p.name for p in output.iterdir()} == {
        "best.pt",
        "last.pt",
        "history.csv",
        "history.json",
        "curves.png",
        "summary.json",
    }
    summary = json.loads((output / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["epochs_run"] == 1
    # The confusion matrix summed over the two processes' halves of val is the single-process one.
    best = load_checkpoint(output / "best.pt")
    single = evaluate_cli.main(
        evaluate_cli.get_args_parser().parse_args(
            [
                *("--checkpoint", str(output / "best.pt"), "--dataset", "camvid", "--data-root", str(camvid_root)),
                *("--json", str(tmp_path / "eval.json"), "--batch-size", "1", "--workers", "0"),
                *("--device", "cpu", "--precision", "fp32"),
            ]
        )
    )
    assert best["confusion_matrix"] == single["confusion_matrix"]
    assert sum(map(sum, single["confusion_matrix"])) == 4 * 48 * 64  # every val pixel counted once
    assert best["val_loss"] == pytest.approx(single["val_loss"], rel=1e-5)


def _helpers_on_rank(rank: int, world_size: int, port: int, results) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size)
    )
    processes, device = distributed.start(torch.device("cpu"))
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    same = distributed.replicas_agree(model, processes)
    if rank == 1:
        with torch.no_grad():
            model.weight[0, 0] += 1e-6
    results.put(
        {
            "rank": rank,
            "device": str(device),
            "same": same,
            "diverged_detected": not distributed.replicas_agree(model, processes),
            "sum": distributed.summed(torch.tensor([rank + 1, 10]), processes).tolist(),
            "from_main": distributed.from_main(rank == 0, processes),
            "shard": list(distributed.shard(list(range(5)), processes)),  # type: ignore[arg-type]
        }
    )
    distributed.stop(processes)


def test_helpers_agree_sum_broadcast_and_shard_across_two_gloo_processes():
    context = mp.get_context("spawn")
    results = context.Queue()
    port = free_port()
    mp.start_processes(_helpers_on_rank, args=(2, port, results), nprocs=2, start_method="spawn")
    by_rank = {r["rank"]: r for r in (results.get(timeout=60) for _ in range(2))}
    for result in by_rank.values():
        assert result["device"] == "cpu" and result["same"] is True
        assert result["diverged_detected"] is True  # one parameter off by 1e-6 on one process is caught
        assert result["sum"] == [3, 20]
        assert result["from_main"] is True  # rank 0's True, on rank 1 too
    assert by_rank[0]["shard"] == [0, 2, 4] and by_rank[1]["shard"] == [1, 3]  # each item once, no padding


def test_one_process_without_torchrun_needs_no_process_group():
    processes, device = distributed.start(torch.device("cpu"))
    model = nn.Linear(2, 2)
    assert not processes.distributed and processes.is_main and device.type == "cpu"
    assert distributed.wrap(model, processes, device) is model
    assert distributed.replicas_agree(model, processes) and distributed.from_main(False, processes) is False
    items = list(range(3))
    assert distributed.shard(items, processes) is items  # type: ignore[arg-type]
