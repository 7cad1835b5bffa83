# The README's two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package with its version and hashes, for Python 3.11 on Linux x86_64: `make lock` writes it.
LOCK := requirements.lock
# CI passes `warn` (docs/security.md, "Dependencies"); a vulnerability found fails either way. To ignore an
# advisory that does not apply, put `--ignore-vuln ID` in AUDIT_ARGS and say why beside it.
AUDIT_UNAVAILABLE ?= fail
AUDIT_ARGS ?=

.PHONY: demo test fuzz lint install lock vocabulary audit clean

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "NioChat needs Python 3.11: make PYTHON=/path/to/python3.11")'
# Only what the lock names, each file checked against its hashes (pip and setuptools included); then the
# project itself, resolving nothing and built by the locked setuptools instead of a freshly downloaded one.
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
# Dagster's @dbt_assets reads dbt_project/target/manifest.json when pipelines/ is imported: prepare it.
	DBT_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project
	@touch $@

install: $(STAMP)

# Keeps the versions already locked where pyproject.toml still allows them; LOCK_ARGS=--upgrade (or
# --upgrade-package NAME) moves them. uv itself comes from the venv, i.e. from the lock it rewrites.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --no-strip-markers --no-strip-extras --quiet \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--custom-compile-command 'make lock' --output-file $(LOCK) $(LOCK_ARGS)

# dbt's copy of niochat/vocabulary.py (tools, outcomes, statuses...): the seeds in dbt_project/seeds/. Run it after
# changing the vocabulary and commit what it wrote; tests/unit/test_vocabulary_seeds.py fails while they differ.
vocabulary: $(STAMP)
	$(BIN)/python -m ingest.vocabulary_seeds

audit: $(STAMP)
	$(BIN)/python .ci/audit.py --unavailable $(AUDIT_UNAVAILABLE) $(LOCK) $(AUDIT_ARGS)

demo: $(STAMP)
	$(BIN)/niochat demo

lint: $(STAMP)
	$(BIN)/ruff check .

# pytest exits 5 when it collected nothing: that is not a pass, say so and fail. The suite runs on every core
# (pytest-xdist), one test module per worker so that a module's stack is started once; each worker has its own
# embedded PostgreSQL and Redis. PYTEST_WORKERS=0 runs it in one process. Tracebacks are Python's own
# (--tb=native): pytest's re-parse of the failing source can hit CPython 3.11.7's AST recursion-depth bug
# (gh-106905) while the tests' server threads run, and that turns one failure into an internal error.
PYTEST_WORKERS ?= auto
test: lint
	@$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --tb=native $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

# The property tests with fresh random examples (the suite's own draw is fixed: tests/conftest.py).
FUZZ_TESTS := tests/unit/test_masking.py tests/unit/test_webhook_fuzzing.py tests/integration/test_webhooks.py \
	tests/integration/test_ingest_sync.py tests/integration/test_hostile_api.py
fuzz: $(STAMP)
	NIOCHAT_HYPOTHESIS_PROFILE=explore $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --tb=native $(FUZZ_TESTS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
