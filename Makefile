# The two commands of the README: `make demo` and `make test`.
.PHONY: setup test lint demo bench

setup:
	bash scripts/bootstrap.sh

lint: setup
	.venv/bin/ruff check .

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q

demo: setup
	.venv/bin/shop demo

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
