# The README's two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "NioChat needs Python 3.11: make PYTHON=/path/to/python3.11")'
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
# Dagster's @dbt_assets reads dbt_project/target/manifest.json when pipelines/ is imported: prepare it.
	DBT_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/niochat demo

lint: $(STAMP)
	$(BIN)/ruff check .

# pytest exits 5 when it collected nothing: that is not a pass, say so and fail.
test: lint
	@$(BIN)/pytest -q $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
