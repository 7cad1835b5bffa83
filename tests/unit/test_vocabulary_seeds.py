"""dbt reads the vocabulary (niochat/vocabulary.py) only through the seeds `make vocabulary` writes: the committed
seeds are what the generator writes (as a lock file), the project configures and documents each of them, the
columns' tests name enumerations the vocabulary has, and nothing repeats the vocabulary by hand any more."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import yaml

from ingest import vocabulary_seeds
from ingest.dbt_command import dbt_project_dir
from niochat.vocabulary import (
    ENUMERATIONS,
    OUTCOME_CATALOGUE,
    TOOL_CATALOGUE,
    UNKNOWN_OUTCOME_KIND,
    UNKNOWN_TOOL_CATEGORY,
)

PROJECT = dbt_project_dir()


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _rows(name: str) -> list[dict]:
    with (PROJECT / "seeds" / name).open(newline="") as seed:
        return list(csv.DictReader(seed))


def test_the_committed_seeds_are_what_make_vocabulary_writes():
    assert vocabulary_seeds.stale() == [], "the vocabulary changed: run `make vocabulary` and commit the seeds"


def test_a_seed_edited_by_hand_is_stale_and_the_generator_puts_it_back(tmp_path):
    assert sorted(vocabulary_seeds.write(tmp_path)) == sorted(vocabulary_seeds.render())
    tools = tmp_path / "tool_vocabulary.csv"
    tools.write_text(tools.read_text().replace("second_copy,invoice,true", "second_copy,other,true"))
    assert vocabulary_seeds.stale(tmp_path) == ["tool_vocabulary.csv"]
    assert vocabulary_seeds.write(tmp_path) == ["tool_vocabulary.csv"] and vocabulary_seeds.stale(tmp_path) == []


def test_the_seeds_carry_every_tool_outcome_and_enumerated_value():
    assert {row["tool"]: (row["category"], row["calls_sgp"] == "true") for row in _rows("tool_vocabulary.csv")} == {
        name: (tool.category, tool.calls_sgp) for name, tool in TOOL_CATALOGUE.items()}
    assert {row["outcome"]: row["kind"] for row in _rows("outcome_vocabulary.csv")} == OUTCOME_CATALOGUE
    values: dict[str, list[str]] = {}
    for row in _rows("value_vocabulary.csv"):
        values.setdefault(row["enumeration"], []).append(row["value"])
    assert values == {name: list(enumeration) for name, enumeration in ENUMERATIONS.items()}


def test_each_seed_has_its_column_types_a_schema_and_docs_saying_it_is_generated():
    project = _yaml(PROJECT / "dbt_project.yml")
    seeds = project["seeds"]["niochat"]
    assert seeds["+schema"] == "reference"
    documented = {seed["name"]: seed for seed in _yaml(PROJECT / "seeds" / "_vocabulary__seeds.yml")["seeds"]}
    for name, text in vocabulary_seeds.render().items():
        table = name.removesuffix(".csv")
        header = text.splitlines()[0].split(",")
        assert list(seeds[table]["+column_types"]) == header, table
        assert "make vocabulary" in documented[table]["description"], table
        assert [column["name"] for column in documented[table]["columns"]] == header, table
    assert set(documented) == {name.removesuffix(".csv") for name in vocabulary_seeds.render()}
    assert sorted(path.name for path in (PROJECT / "seeds").glob("*.csv")) == sorted(vocabulary_seeds.render())


def test_the_guessing_vars_are_gone_and_no_model_repeats_a_vocabulary_by_hand():
    project = _yaml(PROJECT / "dbt_project.yml")
    assert set(project["vars"]) == {"dashboard_role", "default_timezone"}
    for path in [*PROJECT.glob("models/**/*.yml"), *PROJECT.glob("models/**/*.sql"), *PROJECT.glob("macros/*.sql")]:
        text = path.read_text()
        assert "accepted_values" not in text, f"{path.name}: test against the vocabulary (in_vocabulary) instead"
        assert not re.search(r"like\s+'%", text, re.IGNORECASE), f"{path.name}: a tool's category is in the vocabulary"


def _vocabulary_tests(node) -> list[str]:
    """Every enumeration an `in_vocabulary` test names, anywhere in a YAML document."""
    if isinstance(node, dict):
        found = [node["in_vocabulary"]["arguments"]["enumeration"]] if "in_vocabulary" in node else []
        return found + [name for value in node.values() for name in _vocabulary_tests(value)]
    if isinstance(node, list):
        return [name for value in node for name in _vocabulary_tests(value)]
    return []


def test_every_in_vocabulary_test_names_an_enumeration_the_vocabulary_has():
    named = [name for path in [*PROJECT.glob("models/**/*.yml"), *PROJECT.glob("seeds/*.yml")]
             for name in _vocabulary_tests(_yaml(path))]
    assert len(named) >= 15 and set(named) <= set(ENUMERATIONS)


def test_the_marts_defaults_for_an_unknown_tool_or_outcome_are_the_vocabularys():
    sql = (PROJECT / "models" / "intermediate" / "int_tool_calls_classified.sql").read_text()
    assert f"coalesce(tools.category, '{UNKNOWN_TOOL_CATEGORY}') as tool_category" in sql
    assert "coalesce(tools.calls_sgp, false) as calls_sgp" in sql
    assert f"coalesce(outcomes.kind, '{UNKNOWN_OUTCOME_KIND}') as outcome_kind" in sql
