"""Real HTTP servers for tests: uvicorn in a background thread on a free loopback port."""

from niochat.local_servers import free_port, serving

__all__ = ["free_port", "serving"]
