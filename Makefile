# Two entry points on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test venv postgres lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,openbao]'
	touch $(STAMP)

venv: $(STAMP)

# PostgreSQL server binaries for the store and dynamic-credential tests (Debian package).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { (command -v sudo >/dev/null && SUDO=sudo || SUDO=; \
	     $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql); }

demo: venv
	$(BIN)/python -m demo

test: venv postgres
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check broker sidecar scanners tests bench
	$(BIN)/mypy broker sidecar scanners

bench: venv
	$(BIN)/python bench/scan.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
