"""dbt's copy of the vocabulary (niochat/vocabulary.py): the seeds under dbt_project/seeds/, written from it and
only from it. `make vocabulary` (python -m ingest.vocabulary_seeds) rewrites them; tests/unit/test_vocabulary_seeds.py
fails while the committed files differ from what this writes, as a lock file would."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from ingest.dbt_command import dbt_project_dir
from niochat import vocabulary


def _csv(header: tuple[str, ...], rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def render() -> dict[str, str]:
    """{file name: contents} of every vocabulary seed, rows in a stable order."""
    tools = sorted((name, tool.category, str(tool.calls_sgp).lower())
                   for name, tool in vocabulary.TOOL_CATALOGUE.items())
    outcomes = sorted(vocabulary.OUTCOME_CATALOGUE.items())
    values = [(enumeration, value) for enumeration, values in sorted(vocabulary.ENUMERATIONS.items())
              for value in values]
    return {
        "tool_vocabulary.csv": _csv(("tool", "category", "calls_sgp"), tools),
        "outcome_vocabulary.csv": _csv(("outcome", "kind"), outcomes),
        "value_vocabulary.csv": _csv(("enumeration", "value"), values),
    }


def seeds_dir() -> Path:
    return dbt_project_dir() / "seeds"


def stale(directory: Path | None = None) -> list[str]:
    """The seed files that are missing or differ from what render() writes."""
    directory = directory or seeds_dir()
    return [name for name, text in render().items()
            if not (directory / name).exists() or (directory / name).read_text() != text]


def write(directory: Path | None = None) -> list[str]:
    """Rewrite the seeds that changed; returns their names."""
    directory = directory or seeds_dir()
    changed = stale(directory)
    rendered = render()
    for name in changed:
        (directory / name).write_text(rendered[name])
    return changed


def main() -> int:
    changed = write()
    print(f"vocabulary seeds rewritten: {', '.join(changed)}" if changed else "vocabulary seeds already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
