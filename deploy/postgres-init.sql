-- Runs once, when the postgres volume is first initialised (/docker-entrypoint-initdb.d), as POSTGRES_USER,
-- who therefore owns it. The operational database is POSTGRES_DB (niochat); the warehouse (ingest's raw
-- schema and dbt's staging, intermediate and marts) lives in its own database on the same server.
CREATE DATABASE niochat_warehouse;
