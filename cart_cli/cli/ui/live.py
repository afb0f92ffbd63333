"""The live display of one order on a terminal (stderr): a header, one bar for the whole order,
and its stages with a spinner on the running one. Redrawn by rich's Live at a fixed rate, never
per event; when the order ends it collapses to one summary line (the receipt follows on stdout).
"""

from __future__ import annotations

import threading

from rich.console import Group
from rich.constrain import Constrain
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from cart_cli.cli.ui.console import clock_text, one_under_another
from cart_cli.cli.ui.tracker import ACTIVE, DONE, FAILED, PENDING, Progress
from cart_cli.wire.text import safe

REFRESH_PER_SECOND = 10
MARK = {
    PENDING: Text("·", style="dim"),
    DONE: Text("✓", style="green"),
    FAILED: Text("✗", style="bold red"),
}
TIME_WIDTH = 7
MAX_WIDTH = 66  # wider terminals get the same picture, not a longer bar


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def order_bar(tracker, now: float, width: int | None = None):
    """The bar of one order: completed/total steps, or a pulse while there is nothing to count."""
    if tracker.sse:
        return ProgressBar(total=tracker.total, completed=tracker.completed, width=width)
    ended = tracker.ok is not None
    return ProgressBar(
        total=1 if ended else None,
        completed=1 if tracker.ok else 0,
        pulse=not ended,
        animation_time=now,
        width=width,
    )


def bar_counts(tracker) -> str:
    """ "5/8  62%", fixed width for the order's total."""
    width = len(str(tracker.total))
    pct = int(100 * tracker.completed / tracker.total) if tracker.total else 0
    return f"{tracker.completed:>{width}}/{tracker.total} {pct:>3}%"


class LiveDisplay(Progress):
    def __init__(self, merchant: str, console, *, start: bool = True, **kw) -> None:
        super().__init__(merchant, **kw)
        self.console = console
        self.spinner = Spinner("dots", style="cyan")  # one, kept: it turns with the clock
        self.lock = threading.RLock()
        self.live = Live(
            console=console,
            auto_refresh=True,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=True,
            get_renderable=self.render,
        )
        if start:
            self.live.start()

    def __call__(self, ev) -> None:
        with self.lock:  # the refresh thread reads the tracker
            super().__call__(ev)

    def render(self):
        with self.lock:
            return self._render()

    def _render(self):
        t = self.tracker
        now = t.clock()
        head = Text.assemble(
            ("Placing order on ", "bold"),
            (safe(self.merchant), "bold"),
            *(((" → ", "dim"), (safe(self.target), "")) if self.target else ()),
        )

        if t.sse:
            what = Text(bar_counts(t))
        else:
            ended = {None: "waiting for the order", True: "done", False: "stopped"}[t.ok]
            what = Text(ended, style="bold")
        took = Text(f"elapsed {clock_text(t.elapsed())}", style="dim")
        # two columns free at the right: a ^C echoed after the last line must not wrap (the
        # terminal would scroll, and the display, cleared from the top, strand its first line)
        width = min(self.console.width - 2, MAX_WIDTH)
        bar = Table.grid(padding=(0, 1))
        bar.add_row(order_bar(t, now, max(width - len(what) - len(took) - 2, 4)), what, took)

        stages = Table.grid(padding=(0, 1), expand=True)
        stages.add_column(width=1, no_wrap=True)
        stages.add_column(width=max(len(label) for label in t.label.values()), no_wrap=True)
        stages.add_column(ratio=1, overflow="fold")
        stages.add_column(width=TIME_WIDTH, justify="right", no_wrap=True)
        stages.add_row("", Text("stage", style="dim"), "", Text("time", style="dim"))
        for key in t.keys:
            state = t.state[key]
            icon = self.spinner.render(now) if state == ACTIVE else MARK[state]
            style = {ACTIVE: "bold", PENDING: "dim", FAILED: "red"}.get(state, "")
            stages.add_row(
                icon,
                Text(t.label[key], style=style),
                Text(safe(t.detail[key]), style="red" if state == FAILED else "dim"),
                seconds_text(t.seconds(key)),
            )
        # the header too: a wrapped header widens the grid, which pads every line to its width
        return Constrain(
            one_under_another(head, Constrain(Group(bar, stages), width)), self.console.width - 2
        )

    def summary(self) -> Text:
        t = self.tracker
        took = seconds_text(t.elapsed())
        if t.ok:
            number = f"Order {t.order_number} placed" if t.order_number else "Order placed"
            return Text.assemble(("✓ ", "green"), safe(f"{number} on {self.merchant} in {took}"))
        stage = t.failed_stage
        where = t.label[stage] if stage else "the start"
        if t.how == "interrupted":
            return Text.assemble(("✗ ", "bold red"), f"Interrupted at {where} after {took}")
        if t.how == "unknown":
            return Text.assemble(
                ("? ", "bold yellow"), f"Outcome unknown: stopped at {where} after {took}"
            )
        why = f": {t.error}" if t.error else ""
        return Text.assemble(("✗ ", "bold red"), safe(f"{where} failed after {took}{why}"))

    def warn(self, message: str) -> None:
        self.console.print(Text.assemble(("warning: ", "yellow"), safe(message)))

    def close(self) -> None:
        if not self.live.is_started:
            return
        self.live.refresh()  # the last state (the bar at its end), then collapse
        self.live.stop()
        self.console.print(self.summary())
