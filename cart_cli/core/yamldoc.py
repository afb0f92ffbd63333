"""YAML documents with line numbers, ``${VAR}`` substitution and limits against hostile input.

``load_text`` never raises anything but ``OrderInvalid``: size, encoding, syntax, alias bombs and
nesting depth all become a problem naming the file and line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_cli.core.errors import OrderInvalid, Problem

MAX_BYTES = 1 << 20  # 1 MiB: an order file is a few hundred bytes
MAX_NODES = 50_000  # counted with aliases expanded: stops "billion laughs"
MAX_DEPTH = 40
USE_LIBYAML = True  # tests compare with False: same data, lines and problems
ENV_REF = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")

Path_ = tuple  # a path into the data: ("items", 0, "quantity")

# Fields whose values are digit strings: a plain scalar YAML would read as a number (``cvv: 0737``
# is octal 479 in YAML 1.1, a leading zero of a postal code is lost) is refused, never converted.
DIGIT_FIELDS = frozenset({"number", "cvv", "postal_code", "phone"})
CARD = "card"
CARD_FIELDS = ("number", "name", "month", "year", "cvv")
QUOTE_IT = (
    'quote it ({field}: "..."): unquoted, YAML reads it as a number and may change it '
    "(a leading 0 makes it octal, leading zeros are lost)"
)
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")
}


def fmt_path(path: Path_) -> str:
    """``items[0].quantity``. Under ``card``, a key that is not a card field is never shown: it
    may be the card number itself."""
    out, card = "", False
    for p in path:
        if card and p not in CARD_FIELDS and p != CARD:
            break
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
        card = card or p == CARD
    return out or (CARD if card else "")


def tag_name(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


@dataclass
class Doc:
    file: str
    data: Any = None
    card: bool = False  # the whole document is a card: its keys are never shown
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    bad_paths: set[Path_] = field(default_factory=set)  # paths whose problem is already said

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that is in the file."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def problem(self, path: Path_, message: str, line: int | None = None) -> Problem:
        shown = (CARD, *path) if self.card and path[:1] != (CARD,) else path
        return Problem(self.file, fmt_path(shown), line or self.line(path), message)

    def add_problem(self, path: Path_, message: str, line: int | None = None) -> None:
        self.problems.append(self.problem(path, message, line))
        self.bad_paths.add(path)


def read_file(path: str | Path) -> str:
    """The text of a file, or ``OrderInvalid`` saying why it can't be had."""
    name = str(path)

    def bad(message: str) -> OrderInvalid:
        return OrderInvalid([Problem(name, "", None, message)])

    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise bad("no such file") from None
    except IsADirectoryError:
        raise bad("is a directory, not an order file") from None
    except OSError as e:
        raise bad(f"cannot read: {e.strerror or e}") from None
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    """Bytes of a file (or of standard input) as text, or ``OrderInvalid`` saying why not."""

    def bad(message: str) -> OrderInvalid:
        return OrderInvalid([Problem(name, "", None, message)])

    if len(raw) > MAX_BYTES:
        raise bad(f"larger than {MAX_BYTES // 1024} KiB; not an order or a card")
    if b"\x00" in raw:
        raise bad("binary data (contains NUL bytes), not YAML")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise bad(
            f"not UTF-8 text (a byte that is not UTF-8 on line {line}); save it as UTF-8"
        ) from None


def load_text(text: str, name: str, env: Mapping[str, str], *, card: bool = False) -> Doc:
    """The document in ``text``; ``card``: it is a card, so its keys are never shown.

    Read by libyaml when PyYAML has it (about 8x faster), else by the pure loader. Both give the
    same data and lines; a document with any problem is read again by the pure loader, so that
    problems are reported in the same words and at the same lines either way (libyaml words
    syntax errors its own way, and lets a few malformed tags through)."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None) if USE_LIBYAML else None
    if fast is not None and "\t" not in text:  # libyaml lets some tabs by that PyYAML refuses
        try:
            doc = _load(yaml, fast, text, name, env, card)
        except OrderInvalid:
            pass
        else:
            if not doc.problems:
                return doc
    if _flow_depth(text) > MAX_DEPTH:
        # The pure loader recurses once per level: 5,000 brackets cost it seconds before it
        # gives up with a RecursionError. Nothing that deep is an order; say so at once.
        raise OrderInvalid([Problem(name, "", None, f"nested deeper than {MAX_DEPTH} levels")])
    return _load(yaml, yaml.SafeLoader, text, name, env, card)


def _flow_depth(text: str) -> int:
    """The deepest nesting of flow brackets (``[`` ``{``) in ``text``, ignoring quoted text and
    comments: an upper bound the pure loader would meet, found in one linear pass."""
    depth = deepest = 0
    for m in _FLOW_TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif tok in "]}":
            depth = max(depth - 1, 0)
    return deepest


# Quoted strings and comments are skipped whole, so brackets inside them do not count.
_FLOW_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|\s#[^\n]*|[\[\]{}]""")


def _load(yaml, loader, text: str, name: str, env: Mapping[str, str], card: bool) -> Doc:
    doc = Doc(name, card=card)
    if not text.strip():
        raise OrderInvalid([Problem(name, "", None, "file is empty")])
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        msg = f"not valid YAML: {e.problem or e.context or 'syntax error'}"
        if e.problem == "but found another document":
            msg = (
                "a second YAML document (after ---): one file holds one order; for several, "
                "list them under orders: (a multi-order file, see docs/orders.md)"
            )
        raise OrderInvalid([Problem(name, "", line, msg)]) from None
    except yaml.YAMLError as e:
        raise OrderInvalid([Problem(name, "", None, f"not valid YAML: {e}")]) from None
    except RecursionError:
        raise OrderInvalid([Problem(name, "", None, "nested too deeply")]) from None
    except Exception as e:  # the YAML library fails in ways it does not document
        raise OrderInvalid([Problem(name, "", _line_of(e), "not valid YAML")]) from None
    if node is None:
        raise OrderInvalid([Problem(name, "", None, "file is empty")])
    builder = _Builder(doc, env, yaml)
    try:
        doc.data = builder.build(node, ())
    except _TooBig as e:
        raise OrderInvalid([Problem(name, "", None, str(e))]) from None
    except RecursionError:
        raise OrderInvalid([Problem(name, "", None, "nested too deeply")]) from None
    except Exception:  # a library failure is the file's problem, not a crash
        line = builder.line
        raise OrderInvalid([Problem(name, "", line, "a value YAML cannot read")]) from None
    return doc


def _unreadable(node) -> str:
    tag = tag_name(node.tag)
    if node.value == "":
        return f"{tag} with no value"
    kind = {
        "!!int": "a whole number",
        "!!float": "a number",
        "!!bool": "true or false",
        "!!timestamp": "a date",
    }
    return f"not {kind[tag]}" if tag in kind else f"not a value {tag} can hold"


def _line_of(error: BaseException) -> int | None:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def load_file(path: str | Path, env: Mapping[str, str], *, card: bool = False) -> Doc:
    return load_text(read_file(path), str(path), env, card=card)


class _TooBig(Exception):
    pass


class _Builder:
    """Walks the composed node tree once, building plain data and the line map together."""

    def __init__(self, doc: Doc, env: Mapping[str, str], yaml) -> None:
        self.doc, self.env, self.yaml = doc, env, yaml
        self.constructor = yaml.SafeLoader("")
        self.nodes = 0
        self.line: int | None = None  # of the node being built: for a failure it did not foresee

    def build(self, node, path: Path_, depth: int = 0, key_line: int | None = None):
        yaml = self.yaml
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(f"document too large or too many aliases (over {MAX_NODES} values)")
        if depth > MAX_DEPTH:
            raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        line = key_line or node.start_mark.line + 1
        self.doc.lines[path] = line
        self.line = node.start_mark.line + 1
        if node.tag not in _STANDARD_TAGS:
            self.doc.add_problem(
                path,
                f"the YAML tag {tag_name(node.tag)} is not allowed: an order holds plain values "
                "(text, numbers, lists, mappings)",
            )
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        try:
            self.constructor.flatten_mapping(node)  # YAML merge keys (<<)
        except yaml.YAMLError as e:
            self.doc.add_problem(path, f"bad merge key: {e.problem}")
            return {}
        out: dict = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.add_problem(path, "keys must be plain text", line)
                continue
            key = self.scalar(key_node, path, substitute=False)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                key = str(key)
            if key in out:
                first = self.doc.lines.get((*path, key))
                self.doc.add_problem(
                    (*path, key), f"duplicate key (first at line {first}); keep one", line
                )
            out[key] = self.build(value_node, (*path, key), depth + 1, line)
        return out

    def scalar(self, node, path: Path_, substitute: bool = True):
        field = path[-1] if path else None
        digits = substitute and field in DIGIT_FIELDS
        if digits and not node.style and node.tag in _NUMBER_TAGS:  # plain: None or "" (libyaml)
            self.doc.add_problem(path, QUOTE_IT.format(field=field))
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except Exception as e:  # `quantity: !!int` is an IndexError, `!!float x` a ValueError
            problem = getattr(e, "problem", None) or _unreadable(node)
            self.doc.add_problem(path, problem, node.start_mark.line + 1)
            return None
        if not (substitute and isinstance(value, str) and "$" in value):
            return value
        missing: list[str] = []

        def repl(m: re.Match) -> str:
            if m.group(1):  # $${VAR} is a literal ${VAR}
                return m.group(0)[1:]
            if m.group(2) not in self.env:
                missing.append(m.group(2))
                return ""
            return self.env[m.group(2)]

        result = ENV_REF.sub(repl, value)
        for var in missing:
            self.doc.add_problem(path, f"environment variable {var} is not set")
        # A plain scalar's style is None from the pure loader, "" from libyaml.
        if not node.style and ENV_REF.fullmatch(value) and not missing and not digits:
            # An unquoted `quantity: ${QTY}` takes the type the value would have had in place.
            try:
                typed = self.yaml.safe_load(result)
            except self.yaml.YAMLError:
                typed = result
            if isinstance(typed, (int, float, bool, str)):
                return typed
        return result
