# Two entry points: `make run` (install + the services on the shipped model) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell md5sum pyproject.toml | cut -c1-8)

.PHONY: install java chromium run test train-default compare clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[training,serving,gateway,app,dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

java:
	./scripts/ensure_java.sh

chromium:
	./scripts/ensure_chromium.sh

run: install java
	$(BIN)/python -m stack

test: install java chromium
	$(BIN)/python -m pytest

CAMVID_ROOT ?= ../shared/data/camvid

# The shipped default model (CPU budget: width 0.5; see MODEL_CARD.md), then the three-model comparison.
train-default: install
	$(BIN)/python -m training.train --model vgg16_unet --width 0.5 --dataset camvid --data-root $(CAMVID_ROOT) \
		--epochs 30 --batch-size 8 --crop 256 320 --patience 30 --output runs/vgg16_unet_w0.5 \
		$(if $(wildcard runs/vgg16_unet_w0.5/last.pt),--resume runs/vgg16_unet_w0.5/last.pt)

compare: install
	$(BIN)/python -m training.compare --train --models unet_mini vgg16_unet dilatednet --width 0.25 \
		--dataset camvid --data-root $(CAMVID_ROOT) --epochs 8 --batch-size 8 --crop 256 320 --runs-dir runs/compare \
		--output docs/comparison

clean:
	rm -rf $(VENV) runs .pytest_cache
