# The two commands: `make dev` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test install migrate test-sqlite test-postgresql npm-tools bench clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the theme-check and axe-core tests will be skipped"; fi

npm-tools: node_modules/.installed

migrate: install
	$(BIN)/alembic upgrade head

dev: install
	$(BIN)/python -m devtools.dev

# Runs the suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: install npm-tools
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on $$TEST_DATABASE_URL"; \
		$(BIN)/python -m pytest -m "not browser"; \
	fi

bench: install
	$(BIN)/python bench/webhooks.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
