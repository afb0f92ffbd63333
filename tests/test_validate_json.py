"""validate --json: for editors and pre-commit hooks, every file judged on its own."""

from __future__ import annotations

from tests.helpers import cli, write_order


def test_validate_json_reports_each_file_with_problems_and_lines(tmp_path):
    good = write_order(tmp_path / "good.yaml")
    bad = write_order(tmp_path / "bad.yaml", items=[{"variant_id": "X", "quantity": 0}])
    r = cli(["validate", "--json", good, bad, tmp_path / "missing.yaml"])
    assert r.code == 2 and r.stderr == ""
    doc = r.json()
    assert doc["schema"] == "cart-cli.validate/1" and doc["ok"] is False
    files = {f["file"]: f for f in doc["files"]}
    assert files[str(good)] == {"file": str(good), "ok": True, "orders": 1, "problems": []}
    (problem,) = files[str(bad)]["problems"]
    assert problem["path"] == "items[0].quantity" and problem["line"] == 4
    assert "greater than or equal to 1" in problem["message"]
    assert files[str(tmp_path / "missing.yaml")]["problems"][0]["message"] == "no such file"


def test_validate_json_all_good_is_exit_0(tmp_path):
    r = cli(["validate", "--json", write_order(tmp_path / "a.yaml")])
    assert r.code == 0 and r.json()["ok"] is True


def test_validate_json_usage_error_is_still_one_document(tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli(["validate", "--json", tmp_path / "empty"])
    assert r.code == 2 and r.json()["error"]["code"] == "UsageError"
