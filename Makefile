# The two commands of the README. Each builds .venv on first use (or when the dependencies change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: bench test check lint browser clean gpu-wheels gpu-wheels-cp311

bench: $(STAMP)
	$(BIN)/python -m bench run --suite quick

# Everything: what .ci/run calls. Two test processes (pytest-xdist; work stealing, as one test,
# the Keras-on-JAX parity subprocess, takes minutes): on the 2-core machine pytest took 616 s this
# way against 697 s in one process; most tests are CPU-bound, so two processes gain little more.
test: $(STAMP) browser gpu-wheels gpu-wheels-cp311
	$(BIN)/ruff check bench models tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist worksteal

# The edit loop (about a minute): ruff, the import contracts and every test that starts no
# framework, two at a time. tests/models/ is all parity tests; not collecting it keeps its
# framework imports out of this process.
check: $(STAMP)
	$(BIN)/ruff check bench models tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 -m "not slow and not browser and not framework" --ignore=tests/models

lint: $(STAMP)
	$(BIN)/ruff check bench models tests benchmarks
	$(BIN)/ruff format --check bench models tests benchmarks

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

# The wheels a GPU host lacks (docs/gpu.md): keras at constraints.txt's version, optree, namex and
# mnist1d, for CPython 3.12 on manylinux_2_28 x86-64, wheels only, no dependencies (the host has
# them: benchmarks/gpu_host_packages.txt). gpu-wheels-cp311: the same set for this machine's
# Python, which the GPU check's rehearsal in make test installs with --target and runs from.
GPU_PY ?= 3.12
GPU_WHEELS ?= gpu-wheels
GPU_PINS = $(shell grep -E '^(keras|mnist1d)==' constraints.txt) optree==0.20.0 namex==0.1.0

gpu-wheels: $(GPU_WHEELS)/.complete

gpu-wheels-cp311:
	@$(MAKE) --no-print-directory gpu-wheels GPU_PY=3.11 GPU_WHEELS=gpu-wheels-cp311

$(GPU_WHEELS)/.complete: constraints.txt Makefile | $(STAMP)
	rm -rf $(GPU_WHEELS) && mkdir -p $(GPU_WHEELS)
	$(BIN)/pip download --quiet --no-deps --only-binary=:all: --python-version $(GPU_PY) \
	  --platform manylinux_2_28_x86_64 --dest $(GPU_WHEELS) $(GPU_PINS)
	touch $@
	@du -sh --apparent-size $(GPU_WHEELS); ls -l $(GPU_WHEELS)/*.whl

# The report tests open pages in headless Chromium; Debian's package, installed where missing.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { echo "installing Debian's chromium for the report tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) .tox .pytest_cache .ruff_cache gpu-wheels gpu-wheels-cp311
