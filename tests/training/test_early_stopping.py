from training.early_stopping import EarlyStopping


def test_stops_after_patience_epochs_without_improvement():
    stopper = EarlyStopping("val_loss", patience=2, min_delta=0.01)
    assert stopper.step(1.0) and not stopper.should_stop
    assert not stopper.step(0.995)  # below min_delta
    assert not stopper.should_stop
    assert not stopper.step(1.2)
    assert stopper.should_stop


def test_miou_is_maximised():
    stopper = EarlyStopping("miou", patience=1)
    assert stopper.step(0.5)
    assert stopper.step(0.6)
    assert not stopper.step(0.55) and stopper.should_stop
    assert stopper.best == 0.6
