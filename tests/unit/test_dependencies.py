"""pyproject.toml's floors stay above versions with published vulnerabilities; requirements.lock pins every
dependency with hashes inside those floors, matches pyproject's list, and is what is installed.

`make install` installs only the lock, hash-checked; `make lock` regenerates it; `make audit` (CI too) checks it
against published advisories (tests/integration/test_dependency_audit.py, docs/security.md "Dependencies")."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.basics import ROOT

ROOT = ROOT
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements.lock"
SHA256 = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# package -> first version without the advisories named in pyproject.toml
FIXED = {
    "python-multipart": "0.0.31", "cryptography": "50.0.0", "gunicorn": "26.0.0", "pyjwt": "2.10.1",
    "starlette": "0.49.1", "h11": "0.16.0", "jinja2": "3.1.6", "werkzeug": "3.0.6", "flask": "3.1.1",
    "urllib3": "2.5.0", "requests": "2.32.4", "idna": "3.7", "sqlparse": "0.5.0", "pillow": "11.3.0",
    "setuptools": "78.1.1",
}


def _requirements() -> dict[str, Requirement]:
    lines = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["dev"],
             *PYPROJECT["build-system"]["requires"]]
    found = {}
    for line in lines:
        requirement = Requirement(line)
        found[requirement.name.lower()] = requirement
    return found


@pytest.mark.parametrize("package", sorted(FIXED))
def test_the_floor_excludes_every_vulnerable_version(package):
    requirement = _requirements().get(package)
    assert requirement is not None, f"{package} has no floor in pyproject.toml"
    fixed = Version(FIXED[package])
    floors = [Version(spec.version) for spec in requirement.specifier if spec.operator in (">=", "~=", "==")]
    assert floors and min(floors) >= fixed, f"{requirement}: versions below {fixed} are vulnerable"


@pytest.mark.parametrize("package", sorted(FIXED))
def test_the_installed_version_meets_the_floor(package):
    requirement = _requirements()[package]
    assert requirement.specifier.contains(version(package), prereleases=True), (package, version(package))


def _declared() -> dict[str, Requirement]:
    """What pyproject.toml asks for at run time and in development (the lock's input), by canonical name."""
    lines = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["dev"]]
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def _lock() -> dict[str, tuple[Requirement, list[str], bool]]:
    """Each pin of the lock: its requirement line, its hashes, and whether uv wrote it for pyproject itself."""
    pins: dict[str, tuple[Requirement, list[str], bool]] = {}
    current = None
    for line in LOCK.read_text().replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("#") and current and "niochat (pyproject.toml)" in line:
            requirement, hashes, _ = pins[current]
            pins[current] = (requirement, hashes, True)
        elif line and not line.startswith("#"):
            requirement = Requirement(line.split("--hash=")[0].strip())
            current = canonicalize_name(requirement.name)
            assert current not in pins, f"{current} is pinned twice"
            pins[current] = (requirement, SHA256.findall(line), False)
    return pins


def test_every_dependency_of_pyproject_is_pinned_in_the_lock():
    missing = sorted(set(_declared()) - set(_lock()))
    assert not missing, f"not in {LOCK.name}: {missing}; run `make lock`"


def test_the_lock_was_made_from_the_current_dependency_list():
    # uv marks what it resolved for pyproject itself: a dependency added, removed or renamed since shows here
    top_level = {name for name, (_, _, direct) in _lock().items() if direct}
    assert top_level == set(_declared()), (
        f"{LOCK.name} is older than pyproject.toml (run `make lock`): only in the lock "
        f"{sorted(top_level - set(_declared()))}, only in pyproject {sorted(set(_declared()) - top_level)}"
    )


def test_every_pin_is_exact_and_carries_sha256_hashes():
    pins = _lock()
    assert len(pins) > len(_declared())  # what the dependencies need is locked too
    for name, (requirement, hashes, _) in pins.items():
        operators = [spec.operator for spec in requirement.specifier]
        assert operators == ["=="], f"{requirement} is not pinned with =="
        assert hashes, f"{name} has no --hash=sha256: entry"


def test_every_pin_meets_the_pyproject_floor_and_keeps_the_extras():
    pins = _lock()
    for name, declared in _declared().items():
        pinned = pins[name][0]
        pinned_version = next(iter(pinned.specifier)).version
        assert declared.specifier.contains(pinned_version, prereleases=True), f"lock {pinned} breaks {declared}"
        assert declared.extras <= pinned.extras, f"lock {pinned} lacks the extras of {declared}"


def test_the_lock_pulls_in_no_torch_and_names_no_index_or_local_path():
    assert not {"torch", "torchvision", "torchaudio"} & set(_lock())
    text = LOCK.read_text()
    for needle in ("--index-url", "--extra-index-url", "--find-links", "/"):  # no index, URL or path at all
        assert needle not in text, f"{LOCK.name} names {needle!r}: it must install the same from any machine"


def test_the_installed_environment_is_the_lock():
    # `make install` installs the lock (and the project, without dependencies): every pin for this Python,
    # at exactly its version
    wrong = []
    for name, (requirement, _, _) in _lock().items():
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate():
            continue
        pinned = next(iter(requirement.specifier)).version
        if Version(version(name)) != Version(pinned):
            wrong.append(f"{name}: installed {version(name)}, locked {pinned}")
    assert not wrong, wrong


def test_make_install_installs_the_lock_with_hashes_and_the_project_without_dependencies():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): pyproject\.toml \$\(LOCK\)$", makefile, re.MULTILINE)
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in makefile
    assert "pip install --quiet -e" not in makefile.replace("--no-deps --no-build-isolation -e", "")
