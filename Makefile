# make test         unit + notebooks (smoke profile) + app tiers: what CI runs; installs nothing
# make integration  the quick profile on real data (needs APPLIED_MLX_MIRROR, TORCH_HOME offline)
# make demo         run the day notebooks into runs/ (profile auto), then start the Day 6 app
# make bench        the benchmarks (speed is measured there, never in tests)
PYTHON ?= python
PYTEST = $(PYTHON) -m pytest

.PHONY: test unit notebooks app integration demo bench

test:
	$(PYTEST) tests/unit tests/notebooks tests/app

unit:
	$(PYTEST) tests/unit

notebooks:
	$(PYTEST) tests/notebooks

app:
	$(PYTEST) tests/app

integration:
	$(PYTEST) -m integration tests/integration

demo:
	$(PYTHON) tools/run_notebooks.py --app

bench:
	for f in benchmarks/bench_*.py; do $(PYTHON) $$f || exit 1; done
