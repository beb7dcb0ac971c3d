# roadseg: `make run` (install, then the services on the shipped models) and `make test` (install, lint, every
# test: the CI command). `make help` lists the targets; docs/DEVELOPMENT.md and docs/TRAINING.md say more.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell md5sum pyproject.toml | cut -c1-8)
DATA ?= ../shared/data
RUNS ?= $(HOME)/roadseg-runs
# Training runs under tcmalloc: a step's large tensors come from its caches instead of glibc's fresh mmap'd pages
# (DDRNet-23-slim: 2.4-2.5 s a step under glibc, 1.8 s under tcmalloc).
TRAIN_PYTHON = $(addprefix LD_PRELOAD=,$(firstword $(wildcard /usr/lib/*/libtcmalloc_minimal.so.4))) $(BIN)/python

.PHONY: help install java chromium tcmalloc run lint test test-fast compose-smoke locks audit ship grid embedded \
	bench bench-video load clean

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /\1\t/' | expand -t 16

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[training,serving,gateway,app,dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## the virtual environment (.venv) with every extra
java:
	./scripts/ensure_java.sh
chromium:
	./scripts/ensure_chromium.sh
tcmalloc:
	./scripts/ensure_tcmalloc.sh

run: install java ## TorchServe, the gateway and the app on the shipped models (python -m stack)
	$(BIN)/python -m stack

lint: install ## ruff, ruff format and mypy (part of `make test`)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint java chromium ## lint, then every test (the CI command)
	$(BIN)/python -m pytest

test-fast: lint ## the inner loop: no TorchServe, gateway or browser processes
	$(BIN)/python -m pytest -m "not integration"

# Needs a Docker engine (../shared/tools/docker-engine.sh start, then export the DOCKER_HOST it prints).
# TORCH_FROM=pypi where PyTorch's CPU index cannot be reached (a larger TorchServe image: docs/DEPLOY.md).
TORCH_FROM ?= cpu-index
# CHAOS=1: the faults instead (containers killed and restarted under load at their limits: docs/RELIABILITY.md).
compose-smoke: install chromium ## the three images built and run with Docker Compose, end to end (CHAOS=1: faults)
	$(BIN)/python scripts/$(if $(CHAOS),compose_chaos.py,compose_smoke.py) --torch-from $(TORCH_FROM) \
		--json docs/$(if $(CHAOS),compose_chaos.json,compose_smoke.json)

locks: install ## re-resolve docker/locks/*.txt (with hashes) from pyproject.toml's pins; needs PyPI
	$(BIN)/python docker/lock.py

# A recipe (recipes/*.toml) end to end, e.g. `make ship RECIPE=recipes/roadseg-rt-2.0.toml` (DRY_RUN=1: the plan).
# Runs live in RUNS (outside the tree); an interrupted one resumes when the same command runs again.
ship: install tcmalloc ## train and ship one model's recipe: RECIPE=recipes/<model>.toml
	$(TRAIN_PYTHON) -m training.ship $(RECIPE) --data-dir $(DATA) --runs-dir $(RUNS) $(if $(DRY_RUN),--dry-run)

grid: install tcmalloc ## train a grid of pilots or a comparison, then its table: RECIPE=recipes/pilots/<x>.toml
	$(TRAIN_PYTHON) -m training.compare $(RECIPE) --data-dir $(DATA) --runs-dir $(RUNS)

# Run the benchmarks on an otherwise idle machine.
embedded: install ## docs/EMBEDDED.md: every shipped Cityscapes model and candidate, size, speed, memory, accuracy
	$(BIN)/python -m benchmarks.embedded --dataset cityscapes --data-root $(DATA)/cityscapes \
		--work-dir $(RUNS)/embedded --output docs/EMBEDDED.md

bench: install java ## docs/BENCHMARKS.md: the default models in-process and served (own TorchServe + gateway)
	$(BIN)/python -m benchmarks.serving

bench-video: install java ## CamVid's 0016E5 sequence through POST /videos, frames per second
	$(BIN)/python -m benchmarks.video

load: install java ## docs/RELIABILITY.md: 1,000 requests at concurrency 4 on its own TorchServe + gateway
	$(BIN)/python -m benchmarks.load --requests 1000 --concurrency 4

# Known vulnerabilities in the images' locked packages (needs the PyPI/OSV vulnerability service). The
# CPU torch pins carry no hashes (their index is unreachable from here), so they are audited on their own.
AUDIT = $(BIN)/pip-audit --strict --disable-pip --no-deps --progress-spinner off
audit: install ## known vulnerabilities in the images' locked packages (needs the OSV service)
	$(AUDIT) -r docker/locks/gateway.txt -r docker/locks/streamlit.txt -r docker/locks/torchserve.txt
	$(AUDIT) -r docker/locks/torch-cpu.txt

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
