"""Every JSON output validates against its JSON Schema in docs/schemas/: real outputs of real
runs against the sandbox (place, batch --json, --jsonl lines, ledger lines, validate, doctor,
cart, ledger, orders, profile, history lines, the error document), and the schemas are strict
enough that a renamed member fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from cart_cli.wire.names import Schema
from tests.helpers import cli, target, write_order

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"
LEDGER_LINE = "ledger-line.json"  # ledger lines are versioned by "v", not "schema"

pytestmark = pytest.mark.slow


def load(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def registry() -> Registry:
    resources = [(p.name, Resource.from_contents(load(p.name))) for p in SCHEMAS.glob("*.json")]
    return Registry().with_resources(resources)


def file_of(doc: dict) -> str:
    """The schema file for a document: cart-cli.order-result/1 -> order-result.json."""
    if "schema" not in doc:
        return LEDGER_LINE
    name = doc["schema"]
    assert name.startswith("cart-cli.") and "/" in name, name
    return name[len("cart-cli.") :].split("/")[0] + ".json"


def problems(doc: dict, name: str | None = None) -> list[str]:
    name = name or file_of(doc)
    validator = Draft202012Validator(load(name), registry=registry())
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
        for error in validator.iter_errors(doc)
        for e in leaves(error)
    ]


def leaves(error) -> list:
    """A oneOf's failure as the errors of its closest branch (the member that differs, not the
    whole document)."""
    if not error.context:
        return [error]
    branches: dict = {}
    for e in error.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)
    closest = min(branches.values(), key=len)
    return [leaf for e in closest for leaf in leaves(e)]


def test_the_schemas_are_valid_json_schemas():
    for path in SCHEMAS.glob("*.json"):
        Draft202012Validator.check_schema(load(path.name))


def test_every_schema_name_has_its_schema_file():
    """The names in wire/names.py and the files agree, version included."""
    for name in Schema:
        schema = load(file_of({"schema": str(name)}))
        text = json.dumps(schema)
        assert f'"const": "{name}"' in text, name


def test_every_schema_is_in_the_output_page():
    page = (ROOT / "docs" / "output.md").read_text(encoding="utf-8")
    for name in Schema:
        assert f"`{name}`" in page and f"(schemas/{file_of({'schema': str(name)})})" in page, name
    assert f"(schemas/{LEDGER_LINE})" in page


class Outputs:
    """Every document a run printed or wrote, with where it came from."""

    def __init__(self) -> None:
        self.docs: list[tuple[str, dict]] = []

    def add(self, label: str, doc: dict) -> dict:
        self.docs.append((label, doc))
        return doc

    def run(self, label: str, args: list, code: int | None = None) -> dict:
        r = cli(args)
        assert code is None or r.code == code, (label, r.code, r.stderr)
        return self.add(label, r.json())

    def lines(self, label: str, path: Path) -> list[dict]:
        docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for i, doc in enumerate(docs):
            self.add(f"{label} line {i + 1}", doc)
        return docs


def real_outputs(sandbox, tmp_path: Path) -> Outputs:
    out = Outputs()
    to = target(sandbox)
    order = write_order(tmp_path / "order.yaml")
    declined = write_order(
        tmp_path / "declined.yaml",
        card="test:declined",
        expect={"outcome": "declined", "error": "ErrorPaymentDeclined"},
    )
    # place: placed, declined (with an expectation), unknown, refused before the order, bad flag
    out.run("place --json", ["place", order, *to, "--json", "-q"], 0)
    out.run("place --json declined", ["place", declined, *to, "--json", "-q"], 0)
    cut = ["-H", "x-sandbox-fault: commit-then-cut"]
    out.run("place --json unknown", ["place", order, *to, *cut, "--json", "-q"], 8)
    out.run("place --json no app id", ["place", order, "--json", "-q"], 2)
    out.run("place --json bad flag", ["place", "--bogus", "--json"], 2)
    out.run("place --dry-run", ["place", order, *to, "--dry-run", "-q"], 0)
    out.run("place --dry-run cart", ["place", order, *to, "--dry-run", "--flow", "cart"], 0)
    # validate
    (tmp_path / "bad").mkdir()
    bad = write_order(tmp_path / "bad" / "bad.yaml", items=[{"variant_id": "X", "quantity": 0}])
    out.run("validate --json", ["validate", "--json", order, bad.parent], 2)
    (tmp_path / "empty").mkdir()
    out.run("validate --json usage error", ["validate", "--json", tmp_path / "empty"], 2)
    # doctor: passing, and failing (nothing listens on the port)
    out.run("doctor --json", ["doctor", *to, "--merchant", "staging.luma.gift", "--json"], 0)
    closed = ["--api-url", "http://127.0.0.1:9", "--payment-url", "http://127.0.0.1:9"]
    out.run("doctor --json failing", ["doctor", *closed, "--app-id", "x", "--json", "-q"], 7)
    # cart commands, and checkout
    m = ["--merchant", "staging.luma.gift"]
    out.run("cart add --json", ["cart", "add", *m, "24-MB01", *to, "--json"], 0)
    out.run("cart ship --json", ["cart", "ship", *m, order, *to, "--json"], 0)
    out.run("cart show --json", ["cart", "show", *m, *to, "--json"], 0)
    out.run(
        "cart checkout --json", ["cart", "checkout", *m, "--card", "test:visa", *to, "--json"], 0
    )
    nowhere = ["--merchant", "nowhere.example"]
    out.run("cart show --json error", ["cart", "show", *nowhere, *to, "--json"], 2)
    out.run("cart set --json", ["cart", "set", *m, "24-MB01:2", *to, "--json"], 0)
    out.run("cart remove --json", ["cart", "remove", *m, "24-MB01", *to, "--json"], 0)
    # products, and --flow auto (a fallback, and its dry run)
    out.run("products show --json", ["products", "show", *m, "radiant-tee", *to, "--json"], 0)
    out.run("products show --json error", ["products", "show", *m, "nope", *to, "--json"], 4)
    cart_only = write_order(tmp_path / "cart-only.yaml", merchant="cart-only.luma.gift")
    auto = ["--flow", "auto", "--json", "-q"]
    out.run("place --json auto fallback", ["place", cart_only, *to, *auto], 0)
    out.run("place --dry-run auto", ["place", cart_only, *to, "--dry-run", "--flow", "auto"], 0)
    # batch: the CI smoke suite (placed, declined, stock, captcha, store down: all expected),
    # with reports and a ledger; then one unknown outcome, resolved by hand; then a resume
    suite = ROOT / "docs" / "ci" / "smoke"
    reports = ["--jsonl", tmp_path / "r.jsonl", "--ledger", tmp_path / "ledger.jsonl"]
    out.run("batch --json", ["batch", suite, order, *to, *reports, "--json", "-q"], 0)
    out.lines("batch --jsonl", tmp_path / "r.jsonl")
    unknown = ["--ledger", tmp_path / "l2.jsonl", "--jsonl", tmp_path / "r2.jsonl"]
    doc = out.run("batch --json unknown", ["batch", order, *to, *cut, *unknown, "--json"], 8)
    out.lines("batch --jsonl unknown", tmp_path / "r2.jsonl")
    out.run("ledger --json unknown", ["ledger", tmp_path / "l2.jsonl", "--json"], 0)
    job = doc["unknown"][0]["job"]
    ledger2 = ["--ledger", tmp_path / "l2.jsonl"]
    assert cli(["ledger", "resolve", job, "--placed", "000000009", *ledger2]).code == 0
    out.run("batch --json resume", ["batch", order, *to, *unknown, "--resume", "--json"], 0)
    out.lines("batch --jsonl resume", tmp_path / "r2.jsonl")
    out.run("batch --json usage error", ["batch", tmp_path / "none.yaml", *to, "--json"], 2)
    out.run("ledger --json", ["ledger", tmp_path / "ledger.jsonl", "--json"], 0)
    out.run("ledger --json error", ["ledger", tmp_path / "nothing.jsonl", "--json"])
    out.lines("ledger", tmp_path / "ledger.jsonl")
    out.lines("ledger resolved", tmp_path / "l2.jsonl")
    # history, orders, profiles
    out.lines("history", Path(cli_env("CART_CLI_DATA_DIR")) / "history.jsonl")
    listed = out.run("orders list --json", ["orders", "list", "--json"], 0)
    number = next(o["order_number"] for o in listed["orders"] if o["order_number"])
    out.run("orders show --json", ["orders", "show", number, "--json"], 0)
    add = ["profile", "add", "local", "--api-url", sandbox.url, "--payment-url", sandbox.url]
    assert cli([*add, "--app-id", "me", "--flow", "cart"]).code == 0
    out.run("profile list --json", ["profile", "list", "--json"], 0)
    out.run("profile show --json", ["profile", "show", "local", "--json"], 0)
    out.run("profile show --json built-in", ["profile", "show", "sandbox", "--json"], 0)
    config = Path(cli_env("CART_CLI_CONFIG"))
    config.write_text(config.read_text() + '\n[profiles.auto]\napp_id = "me"\nflow = "auto"\n')
    out.run("profile show --json flow auto", ["profile", "show", "auto", "--json"], 0)
    return out


def cli_env(name: str) -> str:
    import os

    return os.environ[name]


def test_every_json_output_validates_against_its_schema(cart_sandbox, tmp_path):
    out = real_outputs(cart_sandbox, tmp_path)
    failures = []
    for label, doc in out.docs:
        failures += [f"{label} ({file_of(doc)}): {p}" for p in problems(doc)]
    assert not failures, (
        "outputs that do not match docs/schemas/ (a member added: add it to the schema; one "
        "renamed or removed: a new version of the schema name):\n" + "\n".join(failures)
    )

    # every schema was met by a real output (defs.json holds only shared definitions)
    used = {file_of(doc) for _, doc in out.docs}
    used |= {"order-result.json", "history.json"}  # (inside batch-result and orders too)
    assert used == {p.name for p in SCHEMAS.glob("*.json")} - {"defs.json"}
    events = {doc.get("event", "header") for _, doc in out.docs if file_of(doc) == LEDGER_LINE}
    assert events == {"header", "submitting", "result", "resolved"}
    statuses = {doc.get("status") for _, doc in out.docs if "job" in doc and "status" in doc}
    assert {"placed", "failed", "skipped"} <= statuses

    # strict enough: a renamed member of any document (or of a nested object of ours) fails
    for label, doc in out.docs:
        for key in doc:
            if key in ("schema", "v", "cart-cli"):
                continue
            renamed = {(k + "_renamed" if k == key else k): v for k, v in doc.items()}
            assert problems(renamed, file_of(doc)), f"{label}: renaming {key} goes unnoticed"
    placed = next(doc for label, doc in out.docs if label == "place --json")
    bent = {**placed, "target": {**placed["target"], "app": placed["target"]["app_id"]}}
    assert problems(bent)
