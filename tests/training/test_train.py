import json
import math

import numpy as np
import pytest
import torch

from tests.training.helpers import quick_train_argv
from training import train


def run(argv):
    return train.main(train.parse_config(argv))


def test_two_epochs_on_the_fixture_lower_the_loss(camvid_root, tmp_path):
    out = tmp_path / "run"
    summary = run(quick_train_argv(camvid_root, out))
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert history[1]["train_loss"] < history[0]["train_loss"]
    for name in ("best.pt", "last.pt", "history.csv", "curves.png", "summary.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["model"] == "unet_mini" and summary["epochs_run"] == 2 and 0 <= summary["miou"] <= 1


def test_early_stopping_ends_the_run(camvid_root, tmp_path):
    out = tmp_path / "run"
    # Any improvement under 100 does not count: epoch 1 sets the best, epoch 2 exhausts patience 1.
    summary = run(
        quick_train_argv(camvid_root, out, "--monitor", "val_loss", "--patience", "1", "--min-delta", "100", epochs=6)
    )
    assert summary["stopped_early"] and summary["epochs_run"] == 2 and summary["best_epoch"] == 1


def test_resume_continues_from_the_last_checkpoint(camvid_root, tmp_path):
    out = tmp_path / "run"
    run(quick_train_argv(camvid_root, out, epochs=1))
    summary = run(quick_train_argv(camvid_root, out, "--resume", str(out / "last.pt"), epochs=2))
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert summary["epochs_run"] == 2


def learning_rates(schedule: str, epochs: int = 2, steps: int = 5, warmup: float = 1.0) -> list[float]:
    args = train.parse_config(
        [
            "--model",
            "unet_mini",
            "--dataset",
            "camvid",
            "--data-root",
            ".",
            "--output",
            ".",
            "--lr",
            "1.0",
            "--epochs",
            str(epochs),
            "--lr-schedule",
            schedule,
            "--warmup-epochs",
            str(warmup),
        ]
    )
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=args.lr)
    scheduler = train.build_scheduler(args, optimizer, steps)
    rates = []
    for _ in range(epochs * steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_schedule_warms_up_linearly_then_decays_polynomially():
    rates = learning_rates("poly")  # 5 warm-up steps, then 5 decay steps
    assert rates[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert rates[5:] == pytest.approx([(1 - k / 5) ** 0.9 for k in range(5)])


def test_cosine_and_constant_schedules_after_the_warm_up():
    cosine = learning_rates("cosine")
    assert cosine[5:] == pytest.approx([0.5 * (1 + math.cos(math.pi * k / 5)) for k in range(5)])
    assert learning_rates("constant", warmup=0) == pytest.approx([1.0] * 10)


def test_a_run_interrupted_mid_epoch_resumes_after_its_last_step(camvid_root, tmp_path, monkeypatch):
    """8 fixture images, batch 2: 4 steps an epoch. Stopped after step 3 of epoch 2 (last.pt written after
    every step), the resumed run trains that epoch's last step only and ends where an uninterrupted run ends."""
    whole = tmp_path / "whole"
    run(quick_train_argv(camvid_root, whole))

    class Interrupted(Exception):
        pass

    real_save_last = train.save_last

    def save_then_stop(run_state, completed_epoch, in_progress=None):
        real_save_last(run_state, completed_epoch, in_progress)
        if in_progress is not None and completed_epoch == 1 and in_progress.steps == 3:
            raise Interrupted

    out = tmp_path / "interrupted"
    monkeypatch.setattr(train, "save_last", save_then_stop)
    with pytest.raises(Interrupted):
        run(quick_train_argv(camvid_root, out, "--checkpoint-minutes", "0"))
    monkeypatch.undo()
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["epoch"] == 1 and state["epoch_in_progress"]["steps"] == 3
    assert state["scheduler"]["last_epoch"] == 4 + 3

    summary = run(quick_train_argv(camvid_root, out, "--resume", str(out / "last.pt")))
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2] and summary["epochs_run"] == 2
    assert [row["train_steps"] for row in history] == [4, 4]
    steps = lambda run_dir: torch.load(run_dir / "last.pt", weights_only=False)["scheduler"]["last_epoch"]
    assert steps(out) == steps(whole) == 8


def test_a_second_dataset_trains_beside_the_first_and_counts_in_the_class_weights(
    camvid_root, cityscapes_root, tmp_path
):
    out = tmp_path / "run"
    argv = quick_train_argv(camvid_root, out, "--class-weights", "median_freq", epochs=1)
    argv[argv.index("--dataset") + 1 : argv.index("--data-root") + 2] = [
        "cityscapes",
        "--data-root",
        str(cityscapes_root),
    ]
    alone = train.setup_run(train.parse_config(argv), train.distributed.SINGLE, torch.device("cpu"))
    mixed_argv = [*argv, "--mix-dataset", "camvid", "--mix-data-root", str(camvid_root), "--mix-repeat", "2"]
    mixed = train.setup_run(train.parse_config(mixed_argv), train.distributed.SINGLE, torch.device("cpu"))
    camvid_train = len(list((camvid_root / "train").glob("*.png")))
    assert len(mixed.train_loader.dataset) == len(alone.train_loader.dataset) + 2 * camvid_train
    assert len(mixed.val_loader.dataset) == len(alone.val_loader.dataset)  # validated on the first dataset only
    assert not np.allclose(mixed.weights, alone.weights)
    summary = run(mixed_argv)
    assert summary["budget"]["mix"] == "camvid x2" and summary["dataset"] == "cityscapes"


def test_a_train_share_takes_the_same_share_of_every_part(camvid_root, cityscapes_root, tmp_path):
    argv = quick_train_argv(cityscapes_root, tmp_path / "run", epochs=1)
    argv[argv.index("--dataset") + 1] = "cityscapes"
    mixed = [*argv, "--mix-dataset", "camvid", "--mix-data-root", str(camvid_root)]

    def parts(*extra: str) -> list[int]:
        args = train.parse_config([*mixed, *extra])
        dataset = train.make_loaders(args, 64, (48, 64), torch.device("cpu"))[0].dataset
        return [len(part) for part in dataset.datasets]

    assert parts() == [4, 8]  # 4 Cityscapes and 8 CamVid training images in the fixtures
    assert parts("--train-share", "0.5") == [2, 4]
    assert parts("--train-share", "0.5", "--limit-train", "2") == [1, 4]
    with pytest.raises(SystemExit, match="must be in"):
        parts("--train-share", "1.5")
