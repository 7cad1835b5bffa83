"""Request and response bodies of the agents' REST API (apart from the tables, as FastAPI's template does)."""
