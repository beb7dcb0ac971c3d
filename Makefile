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
	$(BIN)/python -m stack

test: install java
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) runs .pytest_cache
