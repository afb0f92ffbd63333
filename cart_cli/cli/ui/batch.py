"""How a batch looks: plain lines off a terminal, a live display on one, and the summary table.

The live display draws at a fixed rate (a ticker thread), never per event: a batch of fast
orders sends hundreds of events a second, and a terminal run must not be slower than a piped one.
Finished orders are printed above the live area, one line each, on the same ticks."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from cart_cli.cli.ui.console import clock_text, data_text, one_under_another, order_total
from cart_cli.cli.ui.tracker import Tracker
from cart_cli.wire.text import safe

REFRESH_PER_SECOND = 10
NAME_WIDTH = 28
PLACED, NOT_PLACED, UNKNOWN = "placed", "not placed", "unknown"
GROUPS = (PLACED, NOT_PLACED, UNKNOWN)
MARK = {PLACED: "✓", NOT_PLACED: "✗", UNKNOWN: "?"}
STYLE = {PLACED: "green", NOT_PLACED: "red", UNKNOWN: "yellow"}


def group_of(o) -> str:
    """placed / not placed / unknown, for any finished job (already placed counts as placed)."""
    group = getattr(o, "group", None)  # the runner's own word for it, when it has one
    if isinstance(group, str) and group.replace("_", " ") in GROUPS:
        return group.replace("_", " ")
    if o.status in ("placed", "skipped"):
        return PLACED
    if o.status == "unresolved":
        return UNKNOWN
    err = o.result.error if o.result else None
    return UNKNOWN if err is not None and err.outcome == "unknown" else NOT_PLACED


def order_line(o, name_width: int = 0) -> tuple[str, str]:
    """What one finished order comes to, in one line: (group, text)."""
    group = group_of(o)
    r = o.result
    parts = [o.job.name.ljust(name_width)]
    if r and r.ok:
        parts += [str(r.order.get("platform_order_number")), order_total(r.order)]
    elif r and r.error:
        parts += [f"{group} (as expected)" if expected_failure(o) else group, r.error.code]
    if o.note:
        parts.append(o.note)
    if (verdict := getattr(o, "verdict", None)) is not None:
        parts.append(verdict.describe())
    if r:
        parts.append(f"{o.seconds:.1f}s")
    return group, safe("  ".join(parts))  # names, numbers, error names, notes: data


def expected_failure(o) -> bool:
    """Not placed, as the order file's expect: said (a decline a smoke suite asks for)."""
    verdict = getattr(o, "verdict", None)
    return verdict is not None and verdict.met and group_of(o) != PLACED


class PlainBatch:
    """One plain line per finished order, on stderr (logs and CI: no colour, no redraws)."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def started(self, job) -> None: ...
    def event(self, job, ev) -> None: ...

    def finished(self, o) -> None:
        r = o.result
        verdict = getattr(o, "verdict", None)  # the order file's expect:, judged
        status = o.status.upper() if o.status != "placed" else "placed"
        if verdict is not None and verdict.met and o.status != "placed":
            status = f"{o.status} (as expected)"  # a CI log must not shout about a pass
        parts = [status, o.job.name, o.job.order.merchant]
        if r and r.ok:
            parts += [str(r.order.get("platform_order_number")), order_total(r.order)]
        elif r and r.error:
            parts += [r.error.code]
        if o.note:
            parts.append(o.note)
        if verdict is not None:
            parts.append(verdict.describe())
        parts.append(f"{o.seconds:.1f}s")
        # One write per line: orders finish on several threads at once.
        self.stream.write(safe("  ".join(parts)) + "\n")
        self.stream.flush()

    def close(self) -> None: ...


def tail(text: str, width: int) -> str:
    """The end of a name that does not fit: orders differ by their end (…/orders.yaml#3@1)."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


class LiveBatch:
    """One overall bar with the counts, rate, elapsed time and ETA; under it one line per order
    in flight (as many as the terminal has room for), each with its own step bar and stage."""

    def __init__(
        self,
        console,
        total: int,
        *,
        sse: bool = True,
        name_width: int = 0,
        clock: Callable[[], float] = time.monotonic,
        start: bool = True,
    ) -> None:
        from rich.live import Live

        self.console = console
        self.name_width = min(name_width, NAME_WIDTH)  # finished lines line up in columns
        self.total = total
        self.sse = sse
        self.clock = clock
        self.begun = clock()
        self.counts = dict.fromkeys(GROUPS, 0)
        self.in_flight: dict[str, tuple[object, Tracker]] = {}
        self.pending: list[tuple[str, str, bool]] = []  # finished lines not printed yet
        self.lock = threading.Lock()
        self.live = Live(console=console, auto_refresh=False, transient=False)
        self.live.update(self.render())
        self.stopped = threading.Event()
        self.ticker: threading.Thread | None = None
        if start:
            self.live.start()
            self.ticker = threading.Thread(target=self._tick, name="batch-display", daemon=True)
            self.ticker.start()

    # -- listener

    def started(self, job) -> None:
        tracker = Tracker(len(job.order.items), sse=self.sse, clock=self.clock)
        with self.lock:
            self.in_flight[job.id] = (job, tracker)

    def event(self, job, ev) -> None:
        with self.lock:
            if job.id in self.in_flight:
                self.in_flight[job.id][1](ev)

    def finished(self, o) -> None:
        line = order_line(o, self.name_width)
        with self.lock:
            self.in_flight.pop(o.job.id, None)
            self.counts[line[0]] += 1
            self.pending.append((*line, expected_failure(o)))

    # -- drawing

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def _tick(self) -> None:
        while not self.stopped.wait(1 / REFRESH_PER_SECOND):
            self.draw()

    def draw(self) -> None:
        """One frame: the orders that finished since the last one scroll up, the rest redraws."""
        from rich.text import Text

        with self.lock:
            lines, self.pending = self.pending, []
            frame = self.render()
        if lines:
            self.console.print(
                *(
                    # an expected failure is a pass: its mark is not red (as in the summary)
                    Text.assemble((MARK[group] + " ", "dim" if calm else STYLE[group]), text)
                    for group, text, calm in lines
                ),
                sep="\n",
            )
        self.live.update(frame, refresh=True)

    def room(self) -> int:
        """In-flight lines that fit under the overall lines, leaving the prompt a line."""
        return max(1, self.console.height - 5)

    def render(self):
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = self.clock()
        elapsed = now - self.begun
        done = self.done
        width = min(self.console.width - 2, 100)  # room for an echoed ^C, as in place
        digits = len(str(self.total))
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = math.ceil((self.total - done) / rate) if rate > 0 else None
        pct = int(100 * done / self.total) if self.total else 100

        counts = f"{done:>{digits}}/{self.total} {pct:>3}%"
        top = Table.grid(padding=(0, 1))
        top.add_row(
            Text("orders", style="bold"),
            ProgressBar(
                total=self.total or 1, completed=done, width=max(width - len(counts) - 9, 4)
            ),
            Text(counts),
        )
        tally = Text.assemble(
            *(
                part
                for group in GROUPS
                for part in (
                    (f"{group} ", "dim"),
                    (f"{self.counts[group]:>{digits}}", STYLE[group]),
                    "  ",
                )
            )
        )
        times = Text(
            f"elapsed {clock_text(elapsed)}  ETA {clock_text(eta)}  {rate:.1f} orders/s",
            style="dim",
        )
        rows = [top]
        if len(tally) + len(times) <= width:
            rows.append(Text.assemble(tally, times))
        else:
            rows += [tally.rstrip() or tally, times]

        flying = list(self.in_flight.values())
        shown = flying[: self.room()]
        if shown:
            name_width = min(max(len(job.name) for job, _ in shown), NAME_WIDTH)
            lines = Table.grid(padding=(0, 1))
            lines.add_column(width=name_width, no_wrap=True, overflow="ellipsis")
            lines.add_column(width=12, no_wrap=True)
            lines.add_column(
                no_wrap=True, overflow="ellipsis", max_width=max(width - name_width - 16, 8)
            )
            for job, tracker in shown:
                lines.add_row(
                    Text(tail(safe(job.name), name_width), style="dim"),
                    ProgressBar(total=tracker.total, completed=tracker.completed, width=12),
                    Text(safe(tracker.stage_text())),
                )
            rows.append(lines)
        if len(flying) > len(shown):
            rows.append(Text(f"… and {len(flying) - len(shown)} more in flight", style="dim"))
        return one_under_another(*rows)

    def close(self) -> None:
        self.stopped.set()
        if self.ticker is not None:
            self.ticker.join()
        if self.live.is_started:
            self.draw()
            self.live.stop()


def display_for(console, jobs: list, *, live: bool, sse: bool = True):
    if not live:
        return PlainBatch(console.file)
    width = max((len(job.name) for job in jobs), default=0)
    return LiveBatch(console, len(jobs), sse=sse, name_width=width)


# ---- the summary ---


class Row:
    def __init__(self, o) -> None:
        r = o.result
        err = r.error if r else None
        # Every field is shown to a person, and most come from data: made safe here, once.
        self.group = group_of(o)
        self.name = safe(o.job.name)
        self.merchant = safe(o.job.order.merchant)
        number = r.order.get("platform_order_number") if r and r.ok else None
        self.number = safe(getattr(o, "order_number", None) or number or "")  # or an earlier run's
        self.total = safe(order_total(r.order)) if r and r.ok else ""
        self.seconds = f"{o.seconds:.1f}s" if r else ""
        self.code = safe(err.code) if err else ""
        # placed ones too: the merchant's support asks for it
        rid = getattr(o, "request_id", None) or (err.request_id if err else None)
        self.request_id = safe(rid or "")
        self.note = safe(o.note or "")
        verdict = getattr(o, "verdict", None)  # the order's expect:, judged (None: it had none)
        self.expected = "" if verdict is None else "met" if verdict.met else "not met"
        self.unmet = safe("; ".join(verdict.differences)) if self.expected == "not met" else ""

    @property
    def style(self) -> str | None:
        """Red for what a CI reader must look at: an expectation not met, or a failure that
        was not expected; an expected decline is no failure."""
        if self.expected:
            return None if self.expected == "met" else "red"
        return None if self.group == PLACED else STYLE[self.group]


def summary_table(outcomes):
    """Every order of the run, grouped placed / not placed / unknown (each group's orders in
    file order): a table when it fits, one line per order under each group's heading on a
    narrow terminal. Nothing is cut: order numbers, totals and request ids wrap or stay whole."""
    from rich.measure import Measurement

    rows = [
        Row(o)
        for o in sorted(
            outcomes,
            key=lambda o: (GROUPS.index(group_of(o)), o.job.file, o.job.index, o.job.repeat),
        )
    ]
    merchants = sorted({row.merchant for row in rows})
    title = "Batch summary" + (f" ({merchants[0]})" if len(merchants) == 1 else "")
    judged = [row for row in rows if row.expected]
    if judged:  # the line a CI reader looks for first
        met = sum(row.expected == "met" for row in judged)
        title += f"; expectations: {met} met, {len(judged) - met} not met"
    columns = _columns(many_merchants=len(merchants) > 1, expectations=bool(judged))

    class Summary:
        def __rich_console__(self, console, options):
            widths = [
                max([len(head)] + [len(get(row)) for row in rows]) for head, get in columns[:-1]
            ]
            need = sum(widths) + NOTE_MIN + 3 * len(columns) + 1
            if options.max_width < need:
                yield _grouped(title, rows)
            else:
                yield _table(title, rows, columns)

        def __rich_measure__(self, console, options):
            return Measurement(1, options.max_width)

    return Summary()


NOTE_MIN = 16


def _note(row: Row, *, code: bool = True) -> str:
    parts = [
        row.unmet,  # what was expected and what happened: first, it is why the row is red
        row.code if code else "",
        row.request_id and f"request id {row.request_id}",
        row.note,
    ]
    return "; ".join(p for p in parts if p)


def _columns(*, many_merchants: bool, expectations: bool = False):
    columns = [("Result", lambda r: r.group)]
    if expectations:
        columns.append(("Expectation", lambda r: r.expected or "-"))
    columns.append(("Order", lambda r: r.name))
    if many_merchants:
        columns.append(("Merchant", lambda r: r.merchant))
    columns += [
        ("Order number", lambda r: r.number),
        ("Total", lambda r: r.total),
        ("Time", lambda r: r.seconds),
        ("Note", _note),
    ]
    return columns


def _table(title: str, rows: list[Row], columns):
    from rich.table import Table

    table = Table(title=data_text(title), title_justify="left")
    for name, _ in columns:
        table.add_column(
            name,
            justify="right" if name in ("Total", "Time") else "left",
            no_wrap=name != "Note",
            overflow="fold",
            min_width=NOTE_MIN if name == "Note" else None,
        )
    for row in rows:
        table.add_row(*(data_text(get(row)) for _, get in columns), style=row.style)  # not markup
    return table


def _grouped(title: str, rows: list[Row]):
    """Narrow terminals: each group's heading, then one line per order (a failed one's error and
    request id on the next line)."""
    from rich.padding import Padding
    from rich.text import Text

    parts = [Text(title, style="italic", overflow="fold")]
    for group in GROUPS:
        mine = [row for row in rows if row.group == group]
        if not mine:
            continue
        parts.append(
            Text.assemble((f"{MARK[group]} {group.capitalize()} ({len(mine)})", STYLE[group]))
        )
        name_w = max(len(row.name) for row in mine)
        what_w = max(len(row.number or row.code) for row in mine)
        total_w = max(len(row.total) for row in mine)
        for row in mine:
            line = f"{row.name:<{name_w}}  {row.number or row.code:<{what_w}}"
            line += f"  {row.total:>{total_w}}" if total_w else ""
            line += f"  expectation {row.expected}" if row.expected else ""
            parts.append(
                Padding(Text(f"{line}  {row.seconds:>6}".rstrip(), overflow="fold"), (0, 0, 0, 2))
            )
            # a placed order's request id would double the lines: it stays in the wide table
            note = _note(row, code=False) if group != PLACED else row.note
            if note:
                parts.append(Padding(Text(note, style="dim", overflow="fold"), (0, 0, 0, 4)))

    return one_under_another(*parts)
