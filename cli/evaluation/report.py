"""What a run found: each scenario's result, and the rates over the claimed ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

# The tool outcomes the report counts on their own line: answers from the provider's knowledge base, and leads
KNOWLEDGE_OUTCOMES = ("search_knowledge:answered", "search_knowledge:no_match", "create_lead:lead_created",
                      "create_lead:interest_registered")


@dataclass
class ScenarioResult:
    name: str
    claimed: bool
    passed: bool
    handoff: bool
    seconds: float
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # worth a look, not a failure (e.g. webhook retries)
    transcript: list[list[str]] = field(default_factory=list)  # [who, text]
    tools: list[str] = field(default_factory=list)  # every tool call of the scenario, "tool:outcome"


@dataclass
class Report:
    brain: str
    results: list[ScenarioResult]

    @property
    def claimed(self) -> list[ScenarioResult]:
        return [result for result in self.results if result.claimed]

    @property
    def failures(self) -> list[ScenarioResult]:
        return [result for result in self.claimed if not result.passed]

    @property
    def pass_rate(self) -> float:
        return sum(r.passed for r in self.claimed) / len(self.claimed) if self.claimed else 0.0

    @property
    def resolution_rate(self) -> float:
        """Scenarios the bot finished without any handoff / scenarios run."""
        return sum(not r.handoff for r in self.claimed) / len(self.claimed) if self.claimed else 0.0

    def tool_outcomes(self) -> Counter:
        """Tool calls by "tool:outcome" over the claimed scenarios."""
        return Counter(call for result in self.claimed for call in result.tools)

    def knowledge_counts(self) -> dict[str, int]:
        counted = self.tool_outcomes()
        return {name: counted[name] for name in KNOWLEDGE_OUTCOMES}

    def summary(self) -> str:
        run = len(self.claimed)
        warned = sum(bool(r.warnings) for r in self.results)
        return (
            f"brain {self.brain}: {run - len(self.failures)}/{run} scenarios passed ({self.pass_rate:.0%}); "
            f"automatic resolution {sum(not r.handoff for r in self.claimed)}/{run} ({self.resolution_rate:.0%})"
            + (f"; {warned} scenario(s) with warnings" if warned else "")
        )

    def as_dict(self) -> dict:
        return {
            "brain": self.brain,
            "scenarios_run": len(self.claimed),
            "passed": len(self.claimed) - len(self.failures),
            "pass_rate": round(self.pass_rate, 4),
            "automatic_resolution_rate": round(self.resolution_rate, 4),
            "tool_outcomes": dict(sorted(self.tool_outcomes().items())),
            "knowledge": self.knowledge_counts(),
            "results": [asdict(result) for result in self.results],
        }
