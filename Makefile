# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench demo clean system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# Browser tests use Debian's Chromium; compose validation uses Debian's docker-compose.
	$(MAKE) --no-print-directory system-packages
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests drive: Chromium for the browser tests, docker-compose to validate
# docker-compose.yml. Without them (no root, no apt) those tests skip and say why.
SYSTEM_PACKAGES := chromium fonts-dejavu-core docker-compose
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) \
	    || echo "could not install$$missing: the tests that need them will skip"; \
	fi

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
