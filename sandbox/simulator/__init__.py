"""Traffic generator: simulated customers writing through a WhatsApp sandbox, simulated agents answering
through the REST API. Talks HTTP only, like real customers and agents; imports nothing of `api/`."""

from sandbox.simulator.run import SimulationConfig, SimulationReport, simulate

__all__ = ["SimulationConfig", "SimulationReport", "simulate"]
