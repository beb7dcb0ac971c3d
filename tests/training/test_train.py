import json

from tests.training.helpers import quick_train_argv
from training import train


def run(argv):
    return train.main(train.get_args_parser().parse_args(argv))


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
    summary = run(quick_train_argv(camvid_root, out, "--monitor", "val_loss", "--patience", "1",
                                   "--min-delta", "100", epochs=6))
    assert summary["stopped_early"] and summary["epochs_run"] == 2 and summary["best_epoch"] == 1


def test_resume_continues_from_the_last_checkpoint(camvid_root, tmp_path):
    out = tmp_path / "run"
    run(quick_train_argv(camvid_root, out, epochs=1))
    summary = run(quick_train_argv(camvid_root, out, "--resume", str(out / "last.pt"), epochs=2))
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert summary["epochs_run"] == 2
