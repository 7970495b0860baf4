# Two entry points (README.md): `make demo` runs the main job, `make test` runs every check.
# Both create the virtual environment themselves from uv.lock; uv is bootstrapped into
# .tools/ when it is not on PATH.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# loadgroup: tests marked xdist_group (the Spark tests: one JVM) run on one worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup
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

test: lint
	$(UV) run --frozen pytest $(PYTEST_ARGS)

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache leadfunnel-demo.db*
