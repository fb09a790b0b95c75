# The two commands of the README: `make demo` and `make test`.
.PHONY: setup test lint check wheel-check demo bench

setup:
	bash scripts/bootstrap.sh

lint: setup
	.venv/bin/ruff check .

# fast feedback (< 1 min): lint, types, and the tests that need no running service or browser,
# one pytest worker a core (bytecode cached even where PYTHONDONTWRITEBYTECODE is set: it halves
# pytest's collection)
check: setup
	.venv/bin/ruff check .
	.venv/bin/python -m mypy
	env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m pytest -q -n auto -m "not stack and not browser and not slow"

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q

# build the sdist and wheel, install the wheel in a fresh venv outside the checkout, run the tools
wheel-check: setup
	bash scripts/check_wheel.sh

demo: setup
	.venv/bin/shop demo

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
