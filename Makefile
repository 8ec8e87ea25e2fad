# streamscope: `make run` opens the app, `make test` runs the suite; both build .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Shared libraries Qt needs even offscreen, and a virtual screen for `make screenshot`.
DEB_PACKAGES := libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 \
	libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0 libxcb-cursor0 \
	xvfb xauth x11-utils mosquitto

export XDG_RUNTIME_DIR ?= /tmp/streamscope-runtime-$(shell id -u)

.PHONY: run test lint format bench bench-quick screenshot fleet-screenshot deps clean

$(STAMP): pyproject.toml
	@scripts/install-debian-deps $(DEB_PACKAGES)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

deps: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/streamscope $(ARGS)

test: $(STAMP)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks $(BENCH_ARGS)

bench-quick: $(STAMP)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks --quick

screenshot: $(STAMP)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	xvfb-run -a -s "-screen 0 1600x1080x24" env PYTHONPATH=. $(PY) scripts/screenshots.py resources

fleet-screenshot: $(STAMP)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	xvfb-run -a -s "-screen 0 1400x900x24" env PYTHONPATH=. $(PY) scripts/fleet_screenshot.py resources/fleet.png

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
