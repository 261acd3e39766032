# Two commands matter: `make run` (the hub with its demo home) and `make test` (everything CI runs).
.PHONY: run test test-fast bench setup lint fmt

setup:
	@scripts/bootstrap.sh

run: setup
	.venv/bin/zshub run --demo

test: setup
	scripts/test.sh

test-fast: setup
	scripts/test.sh -m "not slow"

bench: setup
	-@scripts/setup-matter.sh  # the Matter lab; without it matter_roundtrip reads "n/a (why)"
	.venv/bin/python -m bench

fmt: setup
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
