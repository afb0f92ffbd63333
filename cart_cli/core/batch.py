"""Many orders: planning (``plan``), the ledger (``ledger``) and running them (``runner``).

This module only gathers the three for callers that want one name."""

from __future__ import annotations

from cart_cli.core.ledger import Contents, Ledger, make_target
from cart_cli.core.plan import Job, Source, collect, expand, parse_shard, plan
from cart_cli.core.runner import (
    FAILED,
    INTERRUPTED,
    NOT_RUN,
    PLACED,
    SKIPPED,
    UNRESOLVED,
    JobOutcome,
    Listener,
    Summary,
    run,
)

__all__ = [
    "FAILED",
    "INTERRUPTED",
    "NOT_RUN",
    "PLACED",
    "SKIPPED",
    "UNRESOLVED",
    "Contents",
    "Job",
    "JobOutcome",
    "Ledger",
    "Listener",
    "Source",
    "Summary",
    "collect",
    "expand",
    "make_target",
    "parse_shard",
    "plan",
    "run",
]
