"""The documentation holds together: every relative link in README.md and the docs/ pages
resolves (file and #anchor), and the README stays a front door (small, `make demo` and
`make test` in its development part)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [
        ROOT / "README.md",
        ROOT / "bench" / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "docs").glob("*/README.md"),
    ]
)
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    return [a or b for a, b in LINK.findall(text)]


def test_slug_is_githubs():
    assert slug("The `--json` document") == "the---json-document"
    assert slug("Outcome unknown (exit 8)") == "outcome-unknown-exit-8"
    assert slug("Two flows: place-order and cart") == "two-flows-place-order-and-cart"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    found = links(page)
    broken = []
    for link in found:
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto:, ...
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file {target.relative_to(ROOT)}")
        elif fragment and target.suffix == ".md" and fragment not in anchors(target):
            broken.append(f"{link}: no heading #{fragment} in {target.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_the_checker_sees_a_broken_link(tmp_path: Path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n\n[a](p.md#title) [b](nope.md) ![c](img.svg) `[d](x.md)`\n")
    assert links(page) == ["p.md#title", "nope.md", "img.svg"]
    assert anchors(page) == {"title"}


def test_the_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) < 12 * 1024
    development = text[text.index("\n## Development") :]
    first_block = development[development.index("```") :].split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    for page in sorted((ROOT / "docs").glob("*.md")):  # every page can be found from it
        assert f"docs/{page.name}" in text, page.name


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)


@pytest.mark.slow
def test_the_readme_first_sandbox_order_runs_as_written(tmp_path: Path):
    """The README's first order, pasted into a shell in an empty folder, does what the README
    says; and each line of its 'what goes wrong' block ends with the exit it names."""
    import os
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text[text.index("## A first order, against the sandbox") :]
    first, wrong = shell_blocks(part)[:2]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def sh(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    ran = sh(first)
    assert ran.returncode == 0, ran.stderr
    for claim in ("$53.51", "000000001", "Sent to", "embedded sandbox"):
        assert claim in ran.stdout, claim
    assert "order placed" in ran.stderr and "$53.51" not in ran.stderr
    for line in wrong.strip().splitlines():
        command, _, comment = line.partition("#")
        said = re.search(r"exit (\d+)", comment)
        ran = sh(command)
        code = int(said.group(1)) if said else 0
        assert ran.returncode == code or f"exit {code}" in ran.stdout, (line, ran.stderr)
        if "--json" in command:
            assert json.loads(ran.stdout)["schema"] == "cart-cli.order-result/1"


def test_every_environment_variable_the_code_reads_is_documented():
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "cart_cli").rglob("*.py"))
    names = set(re.findall(r"\bCART_CLI_[A-Z][A-Z_]*[A-Z]\b", code))
    assert len(names) >= 8
    documented = (ROOT / "docs" / "targets.md").read_text(encoding="utf-8")
    documented = documented[documented.index("## Environment variables") :]
    missing = sorted(n for n in names if f"`{n}`" not in documented)
    assert not missing, f"not in docs/targets.md, 'Environment variables': {missing}"


def test_the_readme_lists_every_command():
    from cart_cli.cli import command

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## Commands") :].split("\n## ")[0]
    for name, cmd in command().commands.items():
        rows = [r for r in table.splitlines() if r.startswith(f"| `cart-cli {name}")]
        assert rows, name
        for sub in getattr(cmd, "commands", None) or {}:
            assert re.search(rf"\b{sub}\b", rows[0].split(" | ")[0]), f"{name} {sub}"
