"""The shape of the package, read from its source: layers import only downward, no import circles
(counting imports inside functions), no signature surgery, and the core stays free of the
terminal. Static (ast): nothing is imported to check it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cart_cli"
ROOT = PACKAGE.parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, anywhere in it (top level, functions, TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from pkg import mod` imports the module pkg.mod
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return found


def _graph() -> dict[str, set[str]]:
    return {
        name: {m for m in _imports(name, path) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_the_cycle_finder_finds_a_circle_and_an_import_inside_a_function(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from cart_cli.cli.ui import receipt\n    import typer\n")
    assert {"cart_cli.cli.ui.receipt", "typer"} <= _imports("cart_cli.cli.x", mod)


def test_no_import_cycle_in_the_package():
    assert "cart_cli.cli.ui.receipt" in MODULES and "cart_cli.core.client" in MODULES
    assert _cycles(_graph()) == []


def test_no_signature_is_rewritten():
    """typer reads a command's options from its real signature; shared options are stacked
    with decorators (cli/options.py), never by assigning __signature__ or __annotations__."""
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr in ("__signature__", "__annotations__"):
                    offenders.append(f"{name}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "setattr"
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in ("__signature__", "__annotations__")
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_core_and_wire_know_no_terminal():
    for name, path in MODULES.items():
        if name.startswith(("cart_cli.core", "cart_cli.wire")):
            imported = _imports(name, path)
            assert not _top_level(imported) & {"typer", "click", "rich"}, name
            assert not {m for m in imported if m.startswith("cart_cli.cli")}, name


def test_the_renderers_know_no_command_line():
    """cli/ui draws; it imports no typer or click, and nothing of the CLI above it."""
    for name, path in MODULES.items():
        if name.startswith("cart_cli.cli.ui"):
            imported = _imports(name, path)
            assert not _top_level(imported) & {"typer", "click"}, name
            above = {
                m
                for m in imported
                if m.startswith("cart_cli.cli") and not m.startswith("cart_cli.cli.ui")
            }
            assert not above, (name, above)


def test_commands_are_not_imported_by_the_layers_they_use():
    for name, path in MODULES.items():
        if not name.startswith("cart_cli.cli.commands") and name != "cart_cli.cli":
            commands = {m for m in _imports(name, path) if m.startswith("cart_cli.cli.commands")}
            assert not commands, (name, commands)


def _thread_locals(tree: ast.AST) -> list[int]:
    """Lines that make a thread-local: ``threading.local()``, ``local()`` imported from
    threading (under any name), or a class deriving from either."""
    names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("threading", "_threading_local")
        for alias in node.names
        if alias.name == "local"
    }
    modules = {"threading", "_threading_local"} | {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name in ("threading", "_threading_local") and alias.asname
    }

    def is_local(expr: ast.AST) -> bool:
        if isinstance(expr, ast.Attribute):
            return (
                expr.attr == "local"
                and isinstance(expr.value, ast.Name)
                and (expr.value.id in modules)
            )
        return isinstance(expr, ast.Name) and expr.id in names

    lines = []
    for node in ast.walk(tree):
        calls = isinstance(node, ast.Call) and is_local(node.func)
        if calls or (isinstance(node, ast.ClassDef) and any(is_local(b) for b in node.bases)):
            lines.append(node.lineno)
    return lines


def test_the_thread_local_finder_finds_each_spelling():
    for text in (
        "import threading\nw = threading.local()\n",
        "import threading as t\nw = t.local()\n",
        "from threading import local\nw = local()\n",
        "from threading import local as L\nclass W(L):\n    pass\n",
    ):
        assert _thread_locals(ast.parse(text)) == [2], text
    assert _thread_locals(ast.parse("import threading\nlock = threading.Lock()\n")) == []


def test_no_thread_local_in_the_core():
    """What an order call's request id is, and whether the order left, reach the runner and the
    commands through explicit callbacks and objects (core.submit.Flight), never a thread-local."""
    offenders = [
        f"{name}:{line}"
        for name, path in MODULES.items()
        if name.startswith(("cart_cli.core", "cart_cli.wire"))
        for line in _thread_locals(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == []


def test_the_environment_holds_no_run_state():
    """The Environment is what a run takes from the process; what changes as the run goes (the
    order in flight, --debug, the --json document) is the RunState, passed beside it."""
    from dataclasses import fields

    from cart_cli.cli.env import Environment
    from cart_cli.cli.state import RunState

    env_fields = {f.name for f in fields(Environment)}
    assert not env_fields & {f.name for f in fields(RunState)}
    assert not env_fields & {"guard", "state", "flight", "submitted", "request_id"}
