# Two entry points: `make run` (install + the services on the shipped model) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell md5sum pyproject.toml | cut -c1-8)

.PHONY: install java run test test-fast clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[serving,gateway,dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

java:
	./scripts/ensure_java.sh

run: install java
	$(BIN)/python -m training.train --model unet_mini --width 0.5 --dataset camvid \
		--data-root $(or $(CAMVID_ROOT),../shared/data/camvid) --epochs 1 --limit-train 32 --limit-val 8 \
		--batch-size 4 --output runs/smoke
	$(BIN)/python -m training.evaluate --checkpoint runs/smoke/best.pt --dataset camvid \
		--data-root $(or $(CAMVID_ROOT),../shared/data/camvid) --limit 8 --json runs/smoke/val_metrics.json

test: install java
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) runs .pytest_cache
