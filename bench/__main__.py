"""`python -m bench {webhook,e2e,dash,sync-copy,export,workspace,all} [--quick]`: see BENCHMARKS.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench import environment, report


def _parser() -> argparse.ArgumentParser:
    from bench import dash, e2e, export, sync_copy, webhook, workspace

    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="NioChat benchmarks against real processes. Results: bench/results/<name>.json.",
    )
    sub = parser.add_subparsers(dest="command", required=True,
                                metavar="{webhook,e2e,dash,sync-copy,export,workspace,all}")

    p = sub.add_parser("webhook", help="webhook acknowledgement under N concurrent customers, vs a bare endpoint",
                       description=webhook.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="200 customers, 2000 requests")
    webhook.add_arguments(p)

    p = sub.add_parser("e2e", help="webhook -> worker -> reply at the WhatsApp sandbox, 1 then 2 workers",
                       description=e2e.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="20 customers/s for 10 s")
    e2e.add_arguments(p)

    p = sub.add_parser("dash", help="Dash callback latency per callback and page, on marts of generated data",
                       description=dash.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2000 conversations, 5 tenants, 10 rounds")
    dash.add_arguments(p)

    p = sub.add_parser("sync-copy", help="rows/s of the warehouse sync against a plain COPY of the same rows",
                       description=sync_copy.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2000 conversations, 5 tenants, 1 run")
    sync_copy.add_arguments(p)

    p = sub.add_parser("export", help="DuckDB export time and rows/s per tenant, against a plain COPY out",
                       description=export.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2000 conversations, 5 tenants")
    export.add_arguments(p)

    p = sub.add_parser("workspace", help="the agents' workspace on 10k open conversations and 1M messages: inbox, "
                       "search, webhook-to-screen", description=workspace.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="300 open + 300 closed conversations, 20000 messages")
    workspace.add_arguments(p)

    p = sub.add_parser("all", help="webhook, e2e, dash, sync-copy, export, workspace, then bench/pipeline.py, "
                       "with their defaults",
                       description="Runs every benchmark one after another with default options.")
    p.add_argument("--quick", action="store_true", help="the quick variant of each")
    p.add_argument("--no-pipeline", action="store_true", help="skip bench/pipeline.py")
    return parser


def run_all(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from bench import dash, e2e, export, sync_copy, webhook, workspace

    quick = ["--quick"] if args.quick else []
    failures = []
    for name, module in (("webhook", webhook), ("e2e", e2e), ("dash", dash), ("sync-copy", sync_copy),
                         ("export", export), ("workspace", workspace)):
        sub_args = parser.parse_args([name, *quick])
        try:
            module.run(sub_args)
        except Exception as exc:  # noqa: BLE001 - keep going, report at the end
            report.log(f"{name} failed: {type(exc).__name__}: {exc}")
            failures.append(name)
    pipeline = environment.ROOT / "bench" / "pipeline.py"
    if pipeline.exists() and not args.no_pipeline:
        report.log(f"pipeline: {pipeline.name} {' '.join(quick)}")
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(pipeline), *quick], cwd=environment.ROOT)
        report.log(f"pipeline exited {code} after {time.perf_counter() - started:.0f}s")
        if code != 0:
            failures.append("pipeline")
    if failures:
        report.log(f"failed: {', '.join(failures)}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "all":
        return run_all(args, parser)
    from bench import dash, e2e, export, sync_copy, webhook, workspace

    module = {"webhook": webhook, "e2e": e2e, "dash": dash, "sync-copy": sync_copy, "export": export,
              "workspace": workspace}[args.command]
    result = module.run(args)
    return 0 if result.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
