# The two set-up commands of the README: `make run` and `make test`. Each installs what it needs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# System packages the suite drives: Chromium and its driver (GraphiQL in a real browser), Node.js and npm (the
# JavaScript GraphQL clients). Installed with apt-get when missing and allowed (root); otherwise a clear failure.
SYSTEM_PACKAGES := chromium:chromium chromedriver:chromium-driver node:nodejs npm:npm

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

.PHONY: install run test lint schema graphiql system-packages lock audit
install: $(STAMP)

run: $(STAMP)
	$(BIN)/ucs-graphql serve

test: $(STAMP) system-packages
	$(BIN)/ruff check ucs_graphql rest_compat tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check ucs_graphql rest_compat tests bench
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/ucs-graphql export-schema > schema.graphql

# The GraphQL-over-HTTP audit (graphql-http's auditServer, pinned in tests/js) against a running server; fails
# on a failed MUST or a SHOULD warning. HEADERS: extra "name: value" arguments (credentials, tenant).
URL ?= http://localhost:8080/graphql
audit: system-packages
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error && node graphql-http-audit.mjs "$(URL)" $(HEADERS)

# GraphiQL's vendored scripts and styles, refreshed from npm at the versions pinned in the script.
graphiql:
	scripts/refresh-graphiql.sh

system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
	  echo "make test needs the system packages$$missing (Debian); install them as root: apt-get install$$missing" >&2; \
	  exit 1; \
	fi

# constraints.txt anew: the newest releases pyproject.toml admits, resolved in a scratch environment.
lock:
	rm -rf .lock-venv && $(PY) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[test]'
	{ echo "# Exact versions that make run and make test install (pip constraints). Refresh with: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv
	@echo "constraints.txt refreshed: run make test before committing it"
