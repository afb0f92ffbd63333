"""YAML documents with line numbers, ``${VAR}`` substitution and limits against hostile input.

``load_text`` never raises anything but ``OrderInvalid``: size, encoding, syntax, alias bombs and
nesting depth all become a problem naming the file and line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_cli.core.errors import OrderInvalid, Problem

MAX_BYTES = 1 << 20  # 1 MiB: an order file is a few hundred bytes
MAX_NODES = 50_000  # counted with aliases expanded: stops "billion laughs"
MAX_DEPTH = 40
ENV_REF = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")

Path_ = tuple  # a path into the data: ("items", 0, "quantity")


def fmt_path(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


@dataclass
class Doc:
    file: str
    data: Any = None
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    bad_paths: set[Path_] = field(default_factory=set)  # paths whose problem is already said

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that is in the file."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.file, fmt_path(path), self.line(path), message)

    def add_problem(self, path: Path_, message: str) -> None:
        self.problems.append(self.problem(path, message))
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
    if len(raw) > MAX_BYTES:
        raise bad(f"file is larger than {MAX_BYTES // 1024} KiB; not an order file")
    if b"\x00" in raw:
        raise bad("binary file (contains NUL bytes), not YAML")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise bad(f"not UTF-8 text (bad byte at offset {e.start})") from None


def load_text(text: str, name: str, env: Mapping[str, str] | None = None) -> Doc:
    import yaml

    env = os.environ if env is None else env
    doc = Doc(name)
    if not text.strip():
        raise OrderInvalid([Problem(name, "", None, "file is empty")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        msg = f"not valid YAML: {e.problem or e.context or 'syntax error'}"
        raise OrderInvalid([Problem(name, "", line, msg)]) from None
    except yaml.YAMLError as e:
        raise OrderInvalid([Problem(name, "", None, f"not valid YAML: {e}")]) from None
    except RecursionError:
        raise OrderInvalid([Problem(name, "", None, "nested too deeply")]) from None
    if node is None:
        raise OrderInvalid([Problem(name, "", None, "file is empty")])
    builder = _Builder(doc, env, yaml)
    try:
        doc.data = builder.build(node, ())
    except _TooBig as e:
        raise OrderInvalid([Problem(name, "", None, str(e))]) from None
    return doc


def load_file(path: str | Path, env: Mapping[str, str] | None = None) -> Doc:
    return load_text(read_file(path), str(path), env)


class _TooBig(Exception):
    pass


class _Builder:
    """Walks the composed node tree once, building plain data and the line map together."""

    def __init__(self, doc: Doc, env: Mapping[str, str], yaml) -> None:
        self.doc, self.env, self.yaml = doc, env, yaml
        self.constructor = yaml.SafeLoader("")
        self.nodes = 0

    def build(self, node, path: Path_, depth: int = 0, key_line: int | None = None):
        yaml = self.yaml
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(f"document too large or too many aliases (over {MAX_NODES} values)")
        if depth > MAX_DEPTH:
            raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        self.doc.lines[path] = key_line or node.start_mark.line + 1
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
                self.doc.problems.append(
                    Problem(self.doc.file, fmt_path(path), line, "keys must be plain text")
                )
                self.doc.bad_paths.add(path)
                continue
            key = self.scalar(key_node, path, substitute=False)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                key = str(key)
            if key in out:
                self.doc.add_problem((*path, key), "duplicate key")
            out[key] = self.build(value_node, (*path, key), depth + 1, line)
        return out

    def scalar(self, node, path: Path_, substitute: bool = True):
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (self.yaml.YAMLError, ValueError, OverflowError) as e:
            problem = getattr(e, "problem", None) or "unreadable value"
            self.doc.add_problem(path, problem)
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
        if node.style is None and ENV_REF.fullmatch(value) and not missing:
            # An unquoted `quantity: ${QTY}` takes the type the value would have had in place.
            try:
                typed = self.yaml.safe_load(result)
            except self.yaml.YAMLError:
                typed = result
            if isinstance(typed, (int, float, bool, str)):
                return typed
        return result
