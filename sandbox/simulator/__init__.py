"""Traffic generator: simulated customers writing through a WhatsApp sandbox, simulated agents answering
through the REST API. Talks HTTP only, like real customers and agents; imports nothing of `api/`."""

from sandbox.simulator.run import (
    DEFAULT_MIX,
    INTENTS,
    Customer,
    SimulationConfig,
    SimulationReport,
    check_mix,
    simulate,
)

__all__ = ["DEFAULT_MIX", "INTENTS", "Customer", "SimulationConfig", "SimulationReport", "check_mix", "simulate"]
