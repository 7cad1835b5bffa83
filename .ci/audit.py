"""The dependency audit: pip-audit over the lock file, with a verdict that never mistakes "not audited" for "clean".

pip-audit alone exits 0 with "No known vulnerabilities found" when its service answered 404 for every package
(each is merely "skipped"), which is what PyPI's per-version JSON API does from some networks. So its JSON report
is read here: 0 only when every pin was audited and none has a known vulnerability, 1 when one has (package,
version, advisory and fix named), 2 when the audit could not run or did not cover every pin. With
`--unavailable warn` (CI, where the service may be out of reach) the last case prints a warning and exits 0;
a vulnerability found still fails. Arguments it does not know go to pip-audit (e.g. `--ignore-vuln ID`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CLEAN, VULNERABLE, COULD_NOT_RUN = 0, 1, 2
TIMEOUT_SECONDS = 600


def verdict(report: dict) -> tuple[int, list[str]]:
    """Reads pip-audit's JSON report: the exit status and the lines that explain it."""
    dependencies = report.get("dependencies") or []
    found = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if "skip_reason" in dep]
    lines = []
    if found:
        count = sum(len(dep["vulns"]) for dep in found)
        noun = "vulnerability" if count == 1 else "vulnerabilities"
        lines.append(f"dependency audit FAILED: {count} known {noun} in {len(found)} of {len(dependencies)} pins")
        for dep in found:
            for vuln in dep["vulns"]:
                aliases = f" ({', '.join(vuln['aliases'])})" if vuln.get("aliases") else ""
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
                lines.append(f"  {dep['name']} {dep['version']}: {vuln['id']}{aliases}, fixed in: {fixed}")
    if skipped or not dependencies:
        lines.append(
            f"dependency audit COULD NOT RUN for {len(skipped)} of {len(dependencies)} pins: "
            "they were not checked, this is not a pass"
        )
        lines += [f"  {dep['name']}: {dep['skip_reason']}" for dep in skipped[:5]]
        if len(skipped) > 5:
            lines.append(f"  ... and {len(skipped) - 5} more")
    if found:
        return VULNERABLE, lines
    if lines:
        return COULD_NOT_RUN, lines
    return CLEAN, [f"dependency audit: {len(dependencies)} pinned packages audited, no known vulnerabilities"]


def run_pip_audit(lock: Path, extra: list[str]) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        # The lock is complete and hashed: pip-audit reads its pins instead of installing them somewhere.
        command = [sys.executable, "-m", "pip_audit", "--requirement", str(lock), "--require-hashes",
                   "--disable-pip", "--progress-spinner", "off", "--aliases", "on", "--format", "json",
                   "--output", str(report_path), *extra]
        try:
            finished = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            return COULD_NOT_RUN, [f"dependency audit COULD NOT RUN: pip-audit took over {TIMEOUT_SECONDS} s"]
        try:
            report = json.loads(report_path.read_text())
        except (OSError, ValueError):
            # No report: pip-audit stopped before auditing (service unreachable, bad lock); its last words say why.
            said = [line for line in finished.stderr.splitlines() if line.strip()][-3:]
            return COULD_NOT_RUN, [f"dependency audit COULD NOT RUN: pip-audit exited {finished.returncode}",
                                   *(f"  {line}" for line in said)]
    return verdict(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("--unavailable", choices=("fail", "warn"), default="fail",
                        help="what an audit that could not run does (a vulnerability found always fails)")
    args, extra = parser.parse_known_args(argv)
    status, lines = run_pip_audit(args.lock, extra)
    if status == COULD_NOT_RUN and args.unavailable == "warn":
        print("WARNING: " + "\n".join(lines) + "\nWARNING: continuing without a dependency audit")
        return CLEAN
    print("\n".join(lines), file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())
