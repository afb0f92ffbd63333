"""The run in progress, kept apart from the Environment it runs in.

The Environment is what a run takes from the process (streams, variables, clock, folders) and
does not change. ``RunState`` is what changes as the command goes and what the error boundary
reads when it ends: --debug, the order in flight (``core.submit.Flight``: has it left, with which
request id), the --json document for a failure, and whether the run's one JSON document has been
written. ``run()`` makes one per command line and hands both to the command through click's
context object (``Invocation``); commands reach them with ``options.environment(ctx)`` and
``options.run_state(ctx)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cart_cli.cli.env import Environment


@dataclass
class RunState:
    """What the error boundary needs to know about the run in progress."""

    debug: bool = False
    flight: Any = None  # core.submit.Flight: the order being placed (has it left? its request id)
    json_doc: Callable[[Any], dict] | None = None  # --json: the document for a failure
    json_done: bool = False  # the one JSON document has been written

    @property
    def submitted(self) -> bool:
        """An order may have left: an interruption must say so."""
        return bool(self.flight is not None and self.flight.sent)

    @property
    def request_id(self) -> str | None:
        """The order call's, once it is about to leave."""
        return self.flight.request_id if self.flight is not None else None


@dataclass
class Invocation:
    """What a command line's click context carries (``ctx.obj``): its Environment and its
    RunState, side by side."""

    env: Environment
    state: RunState = field(default_factory=RunState)

    def print_json(self, doc: dict) -> None:
        """The run's one JSON document on stdout (the boundary then writes no other)."""
        self.env.write_json(doc)
        self.state.json_done = True
