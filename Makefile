# make demo         start the Day 6 app at once on the saved components, and train the missing ones in the
#                   background, fastest first (PROFILE=quick by default; PROFILE=smoke: untrained stand-ins in seconds)
# make test         lint + unit + notebooks (smoke profile) + app tiers: what CI runs
# make lint         ruff check .
# make integration  the quick profile on real data (needs APPLIED_MLX_MIRROR, TORCH_HOME offline)
# make full         every day notebook in the full profile (a GPU), each writing its metrics.json, then the table
# make bench        the benchmarks (speed is measured there, never in tests)
#
# On first use each target creates the virtual environment .venv and installs requirements-dev.txt and the
# package into it (again when a requirements file or pyproject.toml changes): nothing to install by hand.
# PYTHON=... (what CI sets after making its own environment), or another activated virtual environment,
# is used as it is and nothing is installed into it.
VENV := .venv
BASE_PYTHON ?= python3

ifeq ($(origin PYTHON),undefined)
  ifneq ($(VIRTUAL_ENV),)
    ifneq ($(abspath $(VIRTUAL_ENV)),$(abspath $(VENV)))
      PYTHON := python
    endif
  endif
endif
ifeq ($(origin PYTHON),undefined)
  PYTHON := $(VENV)/bin/python
  SETUP := $(VENV)/.installed
endif
PYTEST = $(PYTHON) -m pytest

# uv installs the same requirements several times faster where it is on the PATH; pip otherwise
# (pip also honours a machine's pip configuration: local wheels, index mirrors, caps).
UV := $(shell command -v uv 2>/dev/null)
INSTALL := $(if $(UV),$(UV) pip install --python $(VENV)/bin/python,$(VENV)/bin/python -m pip install)

.PHONY: test lint unit notebooks app integration demo full bench

test: lint $(SETUP)
	$(PYTEST) tests/unit tests/notebooks tests/app

lint: $(SETUP)
	$(PYTHON) -m ruff check .

unit: $(SETUP)
	$(PYTEST) tests/unit

notebooks: $(SETUP)
	$(PYTEST) tests/notebooks

app: $(SETUP)
	$(PYTEST) tests/app

integration: $(SETUP)
	$(PYTEST) -m integration tests/integration

PROFILE ?= quick
demo: $(SETUP)
	$(PYTHON) -m applied_mlx.app --train $(PROFILE)

full: $(SETUP)
	APPLIED_MLX_PROFILE=full $(PYTHON) tools/run_notebooks.py
	$(PYTHON) tools/results_table.py

bench: $(SETUP)
	for f in benchmarks/bench_*.py; do $(PYTHON) $$f || exit 1; done

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@echo "Setting up $(VENV): the requirements and the package, with $(if $(UV),uv,pip) (first run: a few GB, minutes)"
	test -x $(VENV)/bin/python || $(BASE_PYTHON) -m venv $(VENV)
	$(INSTALL) -r requirements-dev.txt -e .
	touch $@
