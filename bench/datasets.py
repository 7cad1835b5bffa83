"""The size of the generated data the pipeline, dash, export and sync-copy benchmarks share."""

from __future__ import annotations


def add_dataset_arguments(parser) -> None:
    """The size of the pipeline benchmark's generated data (bench/pipeline.py populate), which the dash,
    export and sync-copy benchmarks build on."""
    parser.add_argument("--conversations", type=int, help="generated conversations (default 100000; --quick 2000)")
    parser.add_argument("--tenants", type=int, help="tenants they are spread over (default 50; --quick 5)")
    parser.add_argument("--messages-per-conversation", type=int, default=10)


def dataset_config(args) -> dict:
    return {
        "conversations": args.conversations or (2_000 if args.quick else 100_000),
        "tenants": args.tenants or (5 if args.quick else 50),
        "messages_per_conversation": args.messages_per_conversation,
        "quick": bool(args.quick),
    }
