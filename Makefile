# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# Browser tests use Debian's Chromium; compose validation uses Debian's docker-compose.
	command -v docker-compose >/dev/null || (apt-get update -qq && apt-get install -y -qq docker-compose) || echo "docker-compose not installed: its test will skip"
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/occlab run

demo: install
	@mkdir -p out
	$(BIN)/occlab explain --title "Exploration of humans, society and R" \
	  --abstract "We used methods and techniques to do stuff. Weber Freud and vocabulary acquisition were explored. Then we did more stuff. Our code can be found on Github." \
	  --out out/toy-paper.png
	@echo "Heat map of the seed's toy paper: out/toy-paper.png"

lint: install
	$(BIN)/ruff check shared web worker tests bench migrations
	$(BIN)/ruff format --check shared web worker tests bench migrations
	$(BIN)/mypy

test: install lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/occlab bench

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
