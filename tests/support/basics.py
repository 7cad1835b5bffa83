"""What most test modules need: the session's secret key, unique slugs, and where the repository's files are."""

from __future__ import annotations

import secrets
from pathlib import Path

TEST_SECRET = "test-secret-key-" + "x" * 32
ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DATA = TESTS / "data"
FIXTURES = TESTS / "fixtures"
SGP_DATASET = DATA / "sgp-dataset.json"


def unique_slug(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def fixtures_dir() -> Path:
    """The provider captures and SGP responses kept in the repository (tests/fixtures/README.md)."""
    return FIXTURES
