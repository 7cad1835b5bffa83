"""The scenario suite (tests/scenarios/*.yaml) through the real stack: webhooks, API, `niochat worker`, WhatsApp
sandbox, SGP sandboxes, and for the openai brain the real `openai` client against the fake model server.

Every scenario a brain claims must pass; the automatic-resolution rate is printed (`pytest -s` shows it).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from typer.testing import CliRunner

from cli import app
from cli.evaluation import Report, Runner, load_scenarios, local_stack, parse_scenario
from niochat import migrate
from niochat.embedded import ServiceUrls
from niochat.settings import Settings
from tests.support.basics import TEST_SECRET, TESTS
from tests.support.fake_openai import create_app as create_fake_openai
from tests.support.servers import serving

SCENARIOS = TESTS / "scenarios"


@pytest.fixture(scope="module")
def model_url():
    with serving(create_fake_openai()) as url:
        yield f"{url}/v1"


@pytest.fixture
def scenario_services(empty_database_url, redis_url):
    """A database and a Redis database of their own: the suite's timings (an SGP answer within 3 s) must not
    depend on what earlier modules left in a shared database or on the job queue (CI's integration leg runs
    every module in one process against the machine's servers)."""
    migrate.upgrade(empty_database_url)
    own_redis = redis_url  # the embedded Redis (unix socket) is this test process's own already
    if redis_url.startswith("redis://"):
        parts = urlsplit(redis_url)
        own_redis = urlunsplit(parts._replace(path=f"/{14 if parts.path.strip('/') == '15' else 15}"))
    client = redis.Redis.from_url(own_redis)
    client.flushdb()
    yield empty_database_url, own_redis
    client.flushdb()
    client.close()


def _run(brain: str, tmp_path, database_url: str, redis_url: str, model_url: str) -> Report:
    """A stack of its own per brain. Fresh API connection pools matter: each pooled connection stops creating
    conversations after ~10 (psycopg prepares the INSERT ... ON CONFLICT of api/webhooks/intake.py, whose partial
    index predicate is a bound parameter), and the WhatsApp sandbox retries a 503 only three times."""
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None)
    urls = ServiceUrls(database_url, database_url, redis_url)
    with local_stack(settings, urls, TEST_SECRET, lanes=6, workers=2) as base:
        runner = Runner(replace(base, model_url=model_url), secret_key=TEST_SECRET, brain=brain, model_timeout=2.0)
        try:
            return runner.run(load_scenarios(SCENARIOS))
        finally:
            runner.close()


def _explain(report: Report) -> str:
    lines = []
    for result in report.failures:
        lines.append(f"\n{result.name}: " + "; ".join(result.reasons))
        lines += [f"    {who}: {text!r}" for who, text in result.transcript]
    return "\n".join(lines)


# Scenarios the rules brain does not claim: the model-only ones, and those that show a bug of the rules brain
# (each file says which); when a bug is fixed, its scenario gets claimed again and leaves this list.
RULES_DOES_NOT_CLAIM = {
    "model-down-rules-answers", "model-down-serves-customer", "model-slow-rules-answers",  # no model to lose
    "knowledge-no-match-model",  # the model's own words for what the base does not hold
}


def test_the_suite_is_big_enough_and_well_formed():
    scenarios = load_scenarios(SCENARIOS)
    assert len(scenarios) >= 40
    assert {s.name for s in scenarios if not s.claimed_by("rules")} == RULES_DOES_NOT_CLAIM
    assert len([s for s in scenarios if s.claimed_by("openai")]) >= 30


def test_rules_brain_passes_every_scenario_it_claims(tmp_path, scenario_services, model_url):
    report = _run("rules", tmp_path, *scenario_services, model_url)
    print("\n" + report.summary())
    assert not report.failures, _explain(report)
    assert len(report.claimed) >= 40
    counted = report.knowledge_counts()  # `niochat eval` counts the knowledge base's answers and the leads
    assert counted["search_knowledge:answered"] >= 6 and counted["search_knowledge:no_match"] >= 1
    assert counted["create_lead:lead_created"] >= 2 and counted["create_lead:interest_registered"] >= 1


def test_openai_brain_passes_every_scenario_it_claims(tmp_path, scenario_services, model_url):
    report = _run("openai", tmp_path, *scenario_services, model_url)
    print("\n" + report.summary())
    assert not report.failures, _explain(report)
    assert len(report.claimed) >= 15


def test_the_commands_default_scenarios_are_this_suite():
    """`niochat eval` without --scenarios runs tests/scenarios (the move to cli/ once pointed it outside the repo)."""
    from cli.evaluation.scenarios import DEFAULT_SCENARIOS

    assert DEFAULT_SCENARIOS.resolve() == SCENARIOS.resolve()


def test_a_scenario_file_with_a_typo_is_refused():
    with pytest.raises(ValueError, match="unknown key"):
        parse_scenario({"customer": {"phone": "5511912340001"}, "turns": [{"say": "oi", "expcet": {}}]}, "typo")


def test_eval_help():
    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0, result.output
    assert "--brain" in result.output and "--model-url" in result.output


def test_eval_openai_without_a_model_url_says_one_is_needed():
    result = CliRunner().invoke(app, ["eval", "--brain", "openai"])
    assert result.exit_code == 2
    assert "model URL" in result.output


def test_eval_command_runs_two_scenarios_end_to_end(tmp_path, database_url):
    """The command itself: its own fresh database on the configured server, an embedded Redis of its own (a queue
    shared with other workers would hand them its jobs), sandboxes, API, worker, report."""
    chosen = tmp_path / "scenarios"
    chosen.mkdir()
    for name in ("second-copy-one-message", "human-request"):
        shutil.copy(SCENARIOS / f"{name}.yaml", chosen)
    out = tmp_path / "report.json"
    env = {
        "NIOCHAT_DATABASE_URL": database_url,
        "NIOCHAT_REDIS_URL": None,
        "NIOCHAT_SECRET_KEY": TEST_SECRET,
        "NIOCHAT_DATA_DIR": str(tmp_path / "data"),
    }
    result = CliRunner().invoke(app, ["eval", "--scenarios", str(chosen), "--json", str(out), "--parallel", "2"],
                                env=env)
    assert result.exit_code == 0, result.output
    assert "Automatic resolution rate" in result.output
    report = json.loads(out.read_text())
    assert report["scenarios_run"] == 2 and report["passed"] == 2
    assert report["automatic_resolution_rate"] == 0.5  # the human request is handed off
    assert report["tool_outcomes"]["second_copy:sent"] == 1 and report["knowledge"]["search_knowledge:answered"] == 0
