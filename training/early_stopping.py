"""Early stopping on a monitored validation figure."""

from __future__ import annotations

import math

MONITORS = {"val_loss": "min", "miou": "max"}


class EarlyStopping:
    """Stop after `patience` epochs without an improvement of at least `min_delta`."""

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0):
        if monitor not in MONITORS:
            raise ValueError(f"unknown monitor {monitor!r}; choose one of {sorted(MONITORS)}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best = math.inf if MONITORS[monitor] == "min" else -math.inf
        self.bad_epochs = 0

    def step(self, value: float) -> bool:
        """Record an epoch's value; True when it is a new best."""
        sign = 1 if MONITORS[self.monitor] == "min" else -1
        if sign * (self.best - value) > self.min_delta:
            self.best, self.bad_epochs = value, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
