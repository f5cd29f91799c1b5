# The two set-up commands of the README: `make run` and `make test`. Each installs what it needs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

.PHONY: run test lint schema
run: $(STAMP)
	$(BIN)/ucs-graphql serve

test: $(STAMP)
	$(BIN)/ruff check ucs_graphql rest_compat tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check ucs_graphql rest_compat tests bench
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/ucs-graphql export-schema > schema.graphql
