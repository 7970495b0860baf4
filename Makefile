# Two entry points (README.md): `make demo` runs the main job, `make test` runs every check.
# Both create the virtual environment themselves from uv.lock; uv is bootstrapped into
# .tools/ when it is not on PATH.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?= -n 2
# The checks install the `spark` extra too (the Spark engine's tests; CI runs this same
# command); the demo does not need it. --inexact: neither sync removes what the other added.
TEST_EXTRAS ?= --extra spark

.PHONY: demo test lint sync clean

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv>=0.5,<1"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --inexact
	touch $@

.venv/.synced-test: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --inexact $(TEST_EXTRAS)
	touch $@

sync: .venv/.synced

demo: .venv/.synced
	$(UV) run --frozen leadfunnel demo

lint: .venv/.synced-test
	$(UV) run --frozen ruff check src tests bench
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports

# The Spark tests share one local Spark session (one JVM); they run on their own, after the
# rest, in one process: two xdist workers would each start a JVM on a 2-core machine.
test: lint
	$(UV) run --frozen pytest $(PYTEST_ARGS) -m "not spark"
	$(UV) run --frozen pytest -p no:xdist -m spark

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache leadfunnel-demo.db*
