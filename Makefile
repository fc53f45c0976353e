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
# sudo only when not root; `env` because sudo drops DEBIAN_FRONTEND from the environment.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; }

demo: venv
	$(BIN)/python -m demo

test: venv postgres
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check broker sidecar scanners tests bench
	$(BIN)/mypy broker sidecar scanners

bench: venv
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/exchange.py && $(BIN)/python bench/sessions.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
