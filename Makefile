# neuralfields: `make demo` runs the main job, `make test` passes the tests and builds the docs.
# Both create a virtual environment ($(VENV)) and install everything into it from scratch.
# `make gpu-check` runs the CUDA tests and the GPU benchmarks (benchmarks/gpu_check.py; report in
# $(GPU_CHECK_OUT)); without a CUDA device it says so and succeeds. GPU_CHECK_ARGS="--quick" for a smoke run.
# TORCH_SPEC pins the PyTorch wheel installed first (a local CPU build here); override it, e.g.
#   make test TORCH_SPEC="torch>=2.4"

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
DEMO_STEPS ?= 300
GPU_CHECK_OUT ?= out/gpu-check
GPU_CHECK_ARGS ?=

.PHONY: demo test docs bench gpu-check wheel-check clean

$(VENV)/.torch-installed:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install "$(TORCH_SPEC)"
	touch $@

$(VENV)/.data-installed: $(VENV)/.torch-installed pyproject.toml
	$(PIP) install -e ".[data,viz]"
	touch $@

$(VENV)/.dev-installed: $(VENV)/.torch-installed pyproject.toml plugins/neuralfields-example/pyproject.toml
	$(PIP) install -e ".[dev]" ./plugins/neuralfields-example
	touch $(VENV)/.docs-installed $@

# the docs need the library, not the example plugin: `make docs` alone does not install it
$(VENV)/.docs-installed: $(VENV)/.torch-installed pyproject.toml
	$(PIP) install -e ".[dev]"
	touch $@

demo: $(VENV)/.data-installed
	$(VENV)/bin/neuralfields fit camera --size 256 --steps $(DEMO_STEPS) --render-size 1024x1024 --out out/demo

test: $(VENV)/.dev-installed
	$(PY) -m pytest
	$(MAKE) docs

docs: $(VENV)/.docs-installed
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/fit_camera.py

gpu-check: $(VENV)/.dev-installed
	$(PY) benchmarks/gpu_check.py --out $(GPU_CHECK_OUT) $(GPU_CHECK_ARGS)

# Users install wheels: build the wheel and sdist, check their metadata, install the wheel (and the example
# plugin's) into a fresh environment and smoke-test it there, from outside the source tree.
WHEEL_VENV ?= .wheel-venv
wheel-check: $(VENV)/.dev-installed
	rm -rf dist $(WHEEL_VENV)
	$(PIP) install build twine
	$(PY) -m build --sdist --wheel --outdir dist .
	$(PY) -m build --wheel --outdir dist ./plugins/neuralfields-example
	$(PY) -m twine check --strict dist/*
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip --disable-pip-version-check install --upgrade pip
	$(WHEEL_VENV)/bin/python -m pip --disable-pip-version-check install "$(TORCH_SPEC)"
	$(WHEEL_VENV)/bin/python -m pip --disable-pip-version-check install "$$(ls dist/neuralfields-*.whl)[data]" dist/neuralfields_example-*.whl
	cd /tmp && $(CURDIR)/$(WHEEL_VENV)/bin/python $(CURDIR)/tools/wheel_smoke.py

clean:
	rm -rf out docs/_build docs/gallery docs/sg_execution_times.rst .pytest_cache .hypothesis dist $(WHEEL_VENV)
