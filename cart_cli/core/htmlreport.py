"""The HTML run report (``--report-html``): one self-contained file a person reads.

No external scripts, fonts, styles or images, and a Content-Security-Policy that allows none: it
works offline, as a CI artifact, and cannot make a network request. What it shows:

- the target, when, how long, the exit code;
- totals by outcome, by status and by merchant (with expectations met / not met and timings);
- where the time went, stage by stage, per merchant (median of each stage, as a bar);
- the run's timeline: every order as a bar in the lane it ran in, and the orders in flight;
- the orders: a table, sortable and filterable by outcome, merchant and text, with per order a
  waterfall of its stages, its request id, cart id, order number, error and hint.

The summary parts are HTML, escaped; the table is drawn by a small inline script from the orders
as JSON (``<``, ``>``, ``&`` written as ``\\u003c``...), set as text, never as markup: an order
named ``<script>`` shows as text. 10,000 orders make a file of about 4 MB that opens in a second
or two (the table shows 500 rows at a time). No card data enters it."""

from __future__ import annotations

import heapq
import html
import json
import statistics
from collections.abc import Iterator
from datetime import datetime, timezone

from cart_cli.core import events
from cart_cli.core.runner import GROUPS, STATUSES, JobOutcome, Summary
from cart_cli.core.timing import Span, Timeline
from cart_cli.wire import names
from cart_cli.wire.text import safe

STAGE_COLOURS = {
    events.SESSION: "#8da0cb",
    events.KEY: "#a6d854",
    events.ENCRYPT: "#ffd92f",
    events.SUBMIT: "#fc8d62",
    names.CREATING_CART: "#66c2a5",
    names.ITEM_ADDED: "#e78ac3",
    names.SHIPPING_UPDATED: "#e5c494",
    names.ORDER_PLACED: "#b3b3b3",
}
OTHER_COLOUR = "#bbbbbb"
OUTCOME_COLOURS = {"placed": "#2e7d32", "not_placed": "#c62828", "unknown": "#ef6c00"}
TITLES_UP_TO = 2000  # timeline bars get a tooltip each up to this many orders (file size)

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def esc(value) -> str:
    """Data as HTML text: escaped, and controls, bidi overrides and lone surrogates shown as
    visible escapes (wire.text.safe), as on a terminal."""
    return html.escape("" if value is None else safe(value), quote=True)


def script_json(doc) -> str:
    """JSON safe inside a <script> element: no ``</script>``, no ``<!--``, no line separators
    a browser would read otherwise."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)
    for raw, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _total(o: JobOutcome) -> str | None:
    from cart_cli.wire.money import currency_of, plain, to_cents

    total = ((o.result.order if o.result else None) or {}).get("total")
    cents = to_cents(total) if total is not None else None
    if cents is None:
        return None
    currency = currency_of(total) or ""
    return plain(cents) + (f" {currency}" if currency else "")


def row_of(o: JobOutcome, span: Span | None) -> dict:
    """One order as the table's script reads it (short keys: 10,000 of them)."""
    err = o.result.error if o.result else None
    v = o.verdict
    stages = span.stages() if span else []
    duration = (
        _ms(span.end - span.start) if span and span.end is not None else _ms(o.seconds) or None
    )
    row = {
        "n": o.job.name,
        "m": o.job.order.merchant,
        "o": o.group,
        "s": o.status,
        "x": "" if v is None else "met" if v.met else "not met",
        "d": duration,
        "t": _ms(span.start) if span else None,
        "w": [[name, _ms(at), _ms(lasted)] for name, at, lasted in stages],
        "r": o.request_id,
        "c": o.cart_id,
        "p": o.order_number,
        "a": _total(o),
        "e": err.code if err else None,
        "em": err.message if err else None,
        "h": err.hint if err else None,
        "z": o.note or None,
        "xd": "; ".join(v.differences) if v is not None and not v.met else None,
    }
    return {
        k: safe(val) if isinstance(val, str) else val
        for k, val in row.items()
        if val not in (None, "", [])
    }


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class Report:
    """The report of one run: ``document()`` gives it as chunks of UTF-8."""

    def __init__(
        self,
        summary: Summary,
        timeline: Timeline | None = None,
        *,
        command: str = "batch",
        generated: datetime | None = None,
    ) -> None:
        self.summary = summary
        spans = dict(timeline.spans) if timeline else {}
        # From the first order's start (the run's clock starts before the client is open).
        base = min((sp.start for sp in spans.values()), default=0.0)
        self.spans = {
            k: Span(sp.start - base, None if sp.end is None else sp.end - base, sp.marks)
            for k, sp in spans.items()
        }
        self.command = command
        self.generated = generated or datetime.now(timezone.utc)
        self.outcomes = [o for o in summary.outcomes if o is not None]

    def span(self, o: JobOutcome) -> Span | None:
        return self.spans.get(o.job.position)

    # ---- pieces ----
    def head(self) -> str:
        s = self.summary
        n = len(self.outcomes)
        title = f"cart-cli {self.command}: {n} order{'s' if n != 1 else ''}"
        when = self.generated.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        t = s.target or {}
        target = [
            ("kind", "PRODUCTION" if t.get("production") else "staging / sandbox"),
            ("api url", t.get("api_url")),
            ("payment url", t.get("payment_url")),
            ("app id", t.get("app_id")),
            ("profile", t.get("profile")),
        ]
        facts = [
            ("generated", when),
            ("elapsed", f"{s.elapsed:.2f} s"),
            ("exit code", int(s.exit_code)),
        ]
        if s.interrupted:
            facts.append(("interrupted", "yes" + (" (abandoned)" if s.abandoned else "")))
        if s.budget_stop:
            facts.append(("stopped launching", s.budget_stop))
        dl = "".join(
            f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in [*target, *facts] if v is not None
        )
        problems = "".join(f"<li>{esc(p)}</li>" for p in s.problems)
        return (
            "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
            f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f'<meta name=generator content="cart-cli">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>"
            f"<header><h1>{esc(title)}</h1><dl class=facts id=target>{dl}</dl>"
            + (f"<ul class=problems>{problems}</ul>" if problems else "")
            + "</header>\n"
        )

    def totals(self) -> str:
        outs = self.outcomes
        by_group = {g: sum(1 for o in outs if o.group == g) for g in GROUPS}
        met = sum(1 for o in outs if o.verdict is not None and o.verdict.met)
        unmet = sum(1 for o in outs if o.verdict is not None and not o.verdict.met)
        cards = "".join(
            f'<div class="card {esc(g)}" data-outcome="{esc(g)}"><b>{n}</b>'
            f"<span>{esc(g.replace('_', ' '))}</span></div>"
            for g, n in by_group.items()
        )
        cards += (
            f'<div class="card met"><b>{met}</b><span>expectations met</span></div>'
            f'<div class="card unmet"><b>{unmet}</b><span>expectations not met</span></div>'
        )
        statuses = " · ".join(
            f"{esc(st)} {sum(1 for o in outs if o.status == st)}"
            for st in STATUSES
            if any(o.status == st for o in outs)
        )
        rows = []
        merchants: dict[str, list[JobOutcome]] = {}
        for o in outs:
            merchants.setdefault(o.job.order.merchant, []).append(o)
        for m, group in sorted(merchants.items()):
            secs = [self._seconds(o) for o in group if o.status not in ("skipped", "not_run")]
            secs = [x for x in secs if x is not None]
            cells = [
                len(group),
                *(sum(1 for o in group if o.group == g) for g in GROUPS),
                sum(1 for o in group if o.verdict is not None and o.verdict.met),
                sum(1 for o in group if o.verdict is not None and not o.verdict.met),
                f"{_median(secs):.2f}",
                f"{_pct(secs, 0.95):.2f}",
            ]
            rows.append(
                f"<tr><th scope=row>{esc(m)}</th>"
                + "".join(f"<td class=num>{esc(c)}</td>" for c in cells)
                + "</tr>"
            )
        head = "".join(
            f"<th scope=col>{h}</th>"
            for h in (
                "merchant",
                "orders",
                "placed",
                "not placed",
                "unknown",
                "expect met",
                "expect not met",
                "median s",
                "p95 s",
            )
        )
        return (
            "<section id=totals><h2>Totals</h2>"
            f"<div class=cards>{cards}</div><p class=statuses>{statuses}</p>"
            f"<table class=merchants id=merchants><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>\n"
        )

    def _seconds(self, o: JobOutcome) -> float | None:
        span = self.span(o)
        if span is not None and span.end is not None:
            return span.end - span.start
        return o.seconds or None

    def stages(self) -> str:
        """Per merchant, the median of each stage, as one stacked bar."""
        per: dict[str, dict[str, list[float]]] = {}
        order: list[str] = []
        for o in self.outcomes:
            span = self.span(o)
            if span is None:
                continue
            stages = per.setdefault(o.job.order.merchant, {})
            for name, _at, lasted in span.stages():
                stages.setdefault(name, []).append(lasted)
                if name not in order:
                    order.append(name)
        if not per:
            return ""
        medians = {
            m: [(s, _median(st[s])) for s in order if s in st] for m, st in sorted(per.items())
        }
        longest = max(sum(v for _, v in ms) for ms in medians.values()) or 1e-9
        width, label_w, bar_h = 900, 220, 18
        h = bar_h * len(medians) + 8 * (len(medians) - 1) + 28
        parts = [
            f'<svg class=stagebars role=img aria-label="median stage times by merchant" '
            f'viewBox="0 0 {width} {h}" width="{width}" height="{h}">'
        ]
        for i, (m, ms) in enumerate(medians.items()):
            y = i * (bar_h + 8)
            parts.append(f'<text x=0 y="{y + 13}" class=lbl>{esc(_clip(m, 32))}</text>')
            x = float(label_w)
            for s, v in ms:
                w = v / longest * (width - label_w - 60)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar_h}" '
                    f'fill="{STAGE_COLOURS.get(s, OTHER_COLOUR)}"><title>{esc(m)}: {esc(s)} '
                    f"median {v * 1000:.0f} ms</title></rect>"
                )
                x += w
            total = sum(v for _, v in ms)
            parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" class=lbl>{total:.2f} s</text>')
        legend = _legend(order, y=h - 10)
        parts.append(legend + "</svg>")
        return (
            "<section id=stages><h2>Where the time went</h2>"
            "<p>Median time of each stage, per merchant. A stage lasts until the next one "
            "begins; submit is the wait for the server's first answer.</p>"
            + "".join(parts)
            + "</section>\n"
        )

    def timeline(self) -> str:
        """Every launched order as a bar in the lane it ran in, and how many were in flight."""
        spans = [
            (span.start, span.end, o)
            for o in self.outcomes
            if (span := self.span(o)) is not None and span.end is not None
        ]
        if not spans:
            return ""
        spans.sort(key=lambda x: x[0])
        end = max(e for _, e, _ in spans) or 1e-9
        lanes_free: list[tuple[float, int]] = []
        placed_in: list[int] = []
        lanes = 0
        for start, stop, _ in spans:
            if lanes_free and lanes_free[0][0] <= start + 1e-9:
                _, lane = heapq.heappop(lanes_free)
            else:
                lane, lanes = lanes, lanes + 1
            placed_in.append(lane)
            heapq.heappush(lanes_free, (stop, lane))
        width, left = 900, 40
        lane_h = max(2, min(14, 240 // max(lanes, 1)))
        chart_h = 60
        top = chart_h + 16
        h = top + lanes * lane_h + 24
        sx = (width - left - 10) / end
        parts = [
            f'<svg class=timeline role=img aria-label="orders over time" '
            f'viewBox="0 0 {width} {h}" width="{width}" height="{h}">'
        ]
        # in flight over time: a step line
        points = sorted([(s, 1) for s, _, _ in spans] + [(e, -1) for _, e, _ in spans])
        flying, peak, path = 0, 0, [f"M{left},{chart_h}"]
        for _at, step in points:
            flying += step
            peak = max(peak, flying)
        sy = (chart_h - 4) / max(peak, 1)
        flying = 0
        for at, step in points:
            x = left + at * sx
            path.append(f"L{x:.1f},{chart_h - flying * sy:.1f}")
            flying += step
            path.append(f"L{x:.1f},{chart_h - flying * sy:.1f}")
        parts.append(f'<path class=inflight d="{" ".join(path)}"/>')
        parts.append(
            f'<text x=0 y=12 class=lbl>{peak}</text><text x=0 y="{chart_h}" class=lbl>0</text>'
        )
        titles = len(spans) <= TITLES_UP_TO
        for (start, stop, o), lane in zip(spans, placed_in, strict=True):
            x = left + start * sx
            w = max((stop - start) * sx, 0.6)
            y = top + lane * lane_h
            colour = OUTCOME_COLOURS.get(o.group, OTHER_COLOUR)
            tip = (
                f"<title>{esc(o.job.name)} · {esc(o.group.replace('_', ' '))} · "
                f"{stop - start:.2f} s</title>"
                if titles
                else ""
            )
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{max(lane_h - 1, 1)}" '
                f'fill="{colour}">{tip}</rect>'
            )
        for i in range(5):
            at = end * i / 4
            parts.append(
                f'<text x="{left + at * sx:.1f}" y="{h - 6}" class=lbl '
                f'text-anchor="{"start" if i == 0 else "end" if i == 4 else "middle"}">'
                f"{at:.1f} s</text>"
            )
        parts.append("</svg>")
        return (
            "<section id=timeline><h2>Timeline</h2>"
            f"<p>Above, the orders in flight (at most {peak}); below, {len(spans)} orders in "
            f"{lanes} lane{'s' if lanes != 1 else ''}, one bar per order, coloured by outcome "
            "(green placed, red not placed, orange unknown).</p>" + "".join(parts) + "</section>\n"
        )

    def table(self) -> Iterator[str]:
        yield (
            "<section id=orders><h2>Orders</h2>"
            "<div class=filters><label>outcome <select id=f-outcome><option value=''>all</option>"
            + "".join(
                f"<option value='{esc(g)}'>{esc(g.replace('_', ' '))}</option>" for g in GROUPS
            )
            + "</select></label> <label>merchant <select id=f-merchant><option value=''>all"
            "</option>"
            + "".join(
                f"<option>{esc(m)}</option>"
                for m in sorted({o.job.order.merchant for o in self.outcomes})
            )
            + "</select></label> <label>expectation <select id=f-expect>"
            "<option value=''>all</option><option>met</option><option>not met</option>"
            "</select></label> <label>search <input id=f-text type=search "
            'placeholder="name, request id, error..."></label> <span id=shown></span></div>'
            "<noscript><p>The table of orders needs JavaScript (inline, no network): the totals "
            "above do not.</p></noscript>"
            "<div class=scroll><table class=orders id=order-table><thead><tr>"
            + "".join(
                f'<th scope=col data-key="{k}" tabindex=0>{esc(label)}</th>' for k, label in COLUMNS
            )
            + "</tr></thead><tbody id=rows></tbody></table></div>"
            "<p><button id=more type=button hidden>show more</button></p></section>\n"
        )
        # The rows, a chunk at a time: 10,000 orders are never one string.
        yield '<script type="application/json" id=data>['
        sep = ""
        for o in self.outcomes:
            yield sep + script_json(row_of(o, self.span(o)))
            sep = ",\n"
        yield "]</script>\n"
        yield f'<script type="application/json" id=colours>{script_json(STAGE_COLOURS)}</script>\n'

    def document(self) -> Iterator[bytes]:
        yield self.head().encode()
        yield self.totals().encode()
        yield self.stages().encode()
        yield self.timeline().encode()
        for piece in self.table():
            yield piece.encode()
        yield f"<script>{SCRIPT}</script>\n</body></html>\n".encode()


COLUMNS = (
    ("n", "order"),
    ("m", "merchant"),
    ("o", "outcome"),
    ("x", "expectation"),
    ("d", "ms"),
    ("p", "order number"),
    ("a", "total"),
    ("r", "request id"),
    ("e", "error"),
)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _legend(stages: list[str], y: float) -> str:
    out, x = [], 0
    for s in stages:
        out.append(
            f'<rect x="{x}" y="{y - 9}" width=10 height=10 '
            f'fill="{STAGE_COLOURS.get(s, OTHER_COLOUR)}"/>'
            f'<text x="{x + 14}" y="{y}" class=lbl>{esc(s)}</text>'
        )
        x += 24 + 7 * len(s)
    return "".join(out)


def document(summary: Summary, timeline: Timeline | None = None, **kw) -> Iterator[bytes]:
    return Report(summary, timeline, **kw).document()


STYLE = """
:root{--fg:#1d1d1f;--muted:#666;--line:#ddd;--bg:#fff;--alt:#f6f7f9}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;padding:16px 24px;max-width:1200px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:24px 0 8px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;font-family:ui-monospace,monospace}
.problems{color:#c62828}
.cards{display:flex;gap:10px;flex-wrap:wrap}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:24px}.card span{color:var(--muted)}
.card.placed b,.card.met b{color:#2e7d32}.card.not_placed b,.card.unmet b{color:#c62828}
.card.unknown b{color:#ef6c00}
.statuses{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin-top:8px}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.orders th{cursor:pointer;user-select:none;background:var(--alt);position:sticky;top:0}
table.orders th[aria-sort=ascending]::after{content:" \\25B2"}
table.orders th[aria-sort=descending]::after{content:" \\25BC"}
table.orders td{font-family:ui-monospace,monospace;font-size:12px;white-space:nowrap}
table.orders td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:14em}
.scroll{overflow-x:auto}
tr.o-not_placed td:nth-child(3){color:#c62828}tr.o-unknown td:nth-child(3){color:#ef6c00}
tr.o-placed td:nth-child(3){color:#2e7d32}tr.x-unmet td:nth-child(4){color:#c62828;font-weight:600}
tr.row{cursor:pointer}tr.row:hover{background:var(--alt)}
tr.detail td{background:#fafafa;font-family:system-ui,sans-serif;font-size:13px;
white-space:normal}
.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}
.detail dt{color:var(--muted)}.detail dd{margin:0;font-family:ui-monospace,monospace}
.filters{display:flex;gap:12px;flex-wrap:wrap;align-items:center}
#shown{color:var(--muted)}
svg{max-width:100%;height:auto;display:block}
svg .lbl{font:11px system-ui,sans-serif;fill:var(--fg)}
svg .inflight{fill:none;stroke:#1565c0;stroke-width:1.5}
"""

# Draws the table from #data: every value set as text (textContent), never as markup.
SCRIPT = r"""
(function(){
"use strict";
var rows=JSON.parse(document.getElementById("data").textContent);
var colours=JSON.parse(document.getElementById("colours").textContent);
var keys=[].map.call(document.querySelectorAll("#order-table th"),
function(th){return th.dataset.key;});
var body=document.getElementById("rows"),more=document.getElementById("more");
var shown=document.getElementById("shown");
var f={o:document.getElementById("f-outcome"),m:document.getElementById("f-merchant"),
x:document.getElementById("f-expect"),t:document.getElementById("f-text")};
var PAGE=500,limit=PAGE,sortKey=null,sortDir=1,view=rows,open={};
rows.forEach(function(r,i){r.i=i;});
function el(tag,text,cls){var e=document.createElement(tag);
if(text!=null)e.textContent=String(text);
if(cls)e.className=cls;return e;}
var NS="http://www.w3.org/2000/svg";
function svg(tag,attrs){var e=document.createElementNS(NS,tag);
for(var k in attrs)e.setAttribute(k,attrs[k]);return e;}
function label(v){return v==null?"":String(v).replace("_"," ");}
function waterfall(r){
var w=r.w||[],end=r.d||0;w.forEach(function(s){end=Math.max(end,s[1]+s[2]);});
var W=640,L=130,H=18*w.length+24,sc=(W-L-70)/(end||1);
var s=svg("svg",{viewBox:"0 0 "+W+" "+H,width:W,height:H,role:"img","class":"waterfall"});
w.forEach(function(st,i){var y=i*18;
var t=svg("text",{x:0,y:y+12,"class":"lbl"});t.textContent=st[0];s.appendChild(t);
var x=L+st[1]*sc,bw=Math.max(st[2]*sc,1);
var rc=svg("rect",{x:x,y:y+2,width:bw,height:13,fill:colours[st[0]]||"#bbb"});
var ti=svg("title",{});ti.textContent=st[0]+": "+st[2]+" ms, from "+st[1]+" ms";rc.appendChild(ti);
s.appendChild(rc);var v=svg("text",{x:x+bw+4,y:y+12,"class":"lbl"});v.textContent=st[2]+" ms";
s.appendChild(v);});
var ax=svg("text",{x:L,y:H-4,"class":"lbl"});ax.textContent="0 ms";s.appendChild(ax);
var ax2=svg("text",{x:W-70,y:H-4,"class":"lbl","text-anchor":"end"});ax2.textContent=end+" ms";
s.appendChild(ax2);return s;}
function detail(r){
var tr=el("tr",null,"detail"),td=el("td");td.colSpan=keys.length;tr.appendChild(td);
if(r.w&&r.w.length){td.appendChild(waterfall(r));}
else{td.appendChild(el("p","no stages recorded (not launched in this run)"));}
var dl=el("dl");[["order",r.n],["merchant",r.m],["status",label(r.s)],["outcome",label(r.o)],
["expectation",r.x],["what differed",r.xd],["order number",r.p],["total",r.a],
["request id",r.r],["cart id",r.c],["started at",r.t!=null?r.t+" ms into the run":null],
["duration",r.d!=null?r.d+" ms":null],["error",r.e],["message",r.em],["hint",r.h],["note",r.z]]
.forEach(function(p){if(p[1]==null||p[1]==="")return;dl.appendChild(el("dt",p[0]));
dl.appendChild(el("dd",p[1]));});td.appendChild(dl);return tr;}
function draw(){
var frag=document.createDocumentFragment();
view.slice(0,limit).forEach(function(r){
var tr=el("tr",null,"row o-"+r.o+(r.x==="not met"?" x-unmet":""));tr.dataset.i=r.i;
keys.forEach(function(k){var v=r[k];tr.appendChild(el("td",k==="o"||k==="s"?label(v):v,
k==="d"?"num":null));});
tr.tabIndex=0;frag.appendChild(tr);if(open[r.i])frag.appendChild(detail(r));});
body.textContent="";body.appendChild(frag);
shown.textContent=Math.min(limit,view.length)+" of "+view.length+" shown ("+rows.length+" orders)";
more.hidden=view.length<=limit;}
function apply(){
var o=f.o.value,m=f.m.value,x=f.x.value,t=f.t.value.toLowerCase();
view=rows.filter(function(r){
if(o&&r.o!==o)return false;if(m&&r.m!==m)return false;if(x&&r.x!==x)return false;
if(t){var hay=[r.n,r.m,r.r,r.c,r.p,r.e,r.em,r.z].join(" ").toLowerCase();
if(hay.indexOf(t)<0)return false;}return true;});
if(sortKey){view.sort(function(a,b){var p=a[sortKey],q=b[sortKey];
if(p==null&&q==null)return a.i-b.i;if(p==null)return 1;if(q==null)return -1;
if(typeof p==="number"&&typeof q==="number")return (p-q)*sortDir||a.i-b.i;
return String(p).localeCompare(String(q))*sortDir||a.i-b.i;});}
limit=PAGE;draw();}
function toggle(tr){if(!tr||!tr.classList.contains("row"))return;var i=+tr.dataset.i;
if(open[i]){delete open[i];var n=tr.nextSibling;if(n&&n.classList.contains("detail"))n.remove();}
else{open[i]=1;tr.after(detail(rows[i]));}}
body.addEventListener("click",function(e){toggle(e.target.closest("tr"));});
body.addEventListener("keydown",function(e){if(e.key==="Enter")toggle(e.target.closest("tr"));});
document.querySelectorAll("#order-table th").forEach(function(th){
function go(){var k=th.dataset.key;if(sortKey===k)sortDir=-sortDir;else{sortKey=k;sortDir=1;}
document.querySelectorAll("#order-table th").forEach(function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",sortDir>0?"ascending":"descending");apply();}
th.addEventListener("click",go);th.addEventListener("keydown",function(e){if(e.key==="Enter")go();});});
[f.o,f.m,f.x].forEach(function(s){s.addEventListener("change",apply);});
f.t.addEventListener("input",apply);
more.addEventListener("click",function(){limit+=PAGE;draw();});
var first=rows.filter(function(r){return r.o!=="placed"||r.x==="not met";})[0]||rows[0];
if(first)open[first.i]=1;
document.body.dataset.ready="1";
apply();
})();
"""
