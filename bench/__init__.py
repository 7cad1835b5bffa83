"""Benchmarks: `python -m bench all --quick`, or one of them (`python -m bench webhook --help`).

Each starts the real processes (uvicorn API, `niochat worker`, WhatsApp sandbox) on embedded PostgreSQL and
Redis in a temp dir (or NIOCHAT_DATABASE_URL / NIOCHAT_REDIS_URL), prints ratios and writes
bench/results/<name>.json. BENCHMARKS.md has the figures of a real run and what limits each one.
"""
