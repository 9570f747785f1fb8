# Puente: the two commands a fresh machine needs (Python >= 3.11, make):
#   make run    create the virtualenv, install (with espeak-ng, sox and SIPp from Debian), migrate,
#               build missing prompts, run `ivr serve`
#   make test   install what tests need (Python extras, Debian packages), then lint (ruff, import rules),
#               type-check, test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install install-test system-deps run-deps lint typecheck pytest clean vendor-ui

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

system-deps:
	sh scripts/install-system-deps.sh test

run-deps:
	sh scripts/install-system-deps.sh run

run: install run-deps
	$(BIN)/ivr db upgrade
	$(BIN)/ivr prompts build
	$(BIN)/ivr serve

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy

pytest: install-test system-deps
	$(BIN)/ivr prompts build
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The wallboard's charting library (uPlot's dist/ build from npm, see api/ui/static/vendor/README.md):
# fetched with `npm pack`, checked against the registry's integrity, copied with its licence.
UPLOT_VERSION := 1.6.32
vendor-ui:
	sh scripts/vendor-ui.sh $(UPLOT_VERSION) api/ui/static/vendor

clean:
	rm -rf $(VENV) var
