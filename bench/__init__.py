"""Benchmarks: `python -m bench all --quick`, or one of them (`python -m bench webhook --help`).

Each starts the real processes (uvicorn API, `niochat worker`, WhatsApp sandbox) on embedded PostgreSQL and
Redis in a temp dir (or NIOCHAT_DATABASE_URL / NIOCHAT_REDIS_URL), prints ratios and writes
bench/results/<name>.json. BENCHMARKS.md has the figures of a real run and what limits each one.

What the benchmarks share, one job a module: `environment` (services, spawned processes, provisioned tenants),
`servers` (uvicorn servers under test, waited for until ready), `process_memory` (RSS and VmHWM of process trees),
`stats` (percentiles, latency summaries, ratios), `customer_messages` (simulated customers' phones and webhook
payloads), `datasets` (the generated data's size options) and `report` (machine info, progress log, JSON results).
"""
