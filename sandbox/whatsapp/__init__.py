"""WhatsApp provider sandbox (Uazapi + Evolution) for the demo and the tests. Imports nothing of `api/`."""

from sandbox.whatsapp.app import create_app

__all__ = ["create_app"]
