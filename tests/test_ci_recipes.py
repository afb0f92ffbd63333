"""The CI recipes in docs/ci/ run as written against the sandbox: every shard of each, with the
recipe's own commands (only the install step is left out: cart-cli is installed here already)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from cart_cli.cli.env import Environment
from cart_cli.core.batch import collect
from tests.helpers import CLI, ROOT

pytestmark = pytest.mark.slow
CI = ROOT / "docs" / "ci"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A checkout of the repository, as CI has it (docs/ci/smoke/ reachable), and the built-in
    sandbox profile moved to a free port (the recipes' 8787 may be taken on this machine)."""
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    port = free_port()
    config = tmp_path / "config.toml"
    url = f"http://127.0.0.1:{port}"
    config.write_text(f'[profiles.sandbox]\napi_url = "{url}"\npayment_url = "{url}"\n')
    monkeypatch.setenv("CART_CLI_CONFIG", str(config))
    return tmp_path, port


def run_script(lines: list[str], cwd: Path, port: int, env: dict) -> subprocess.CompletedProcess:
    script = "\n".join(
        [
            "set -euo pipefail",
            "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",  # the background sandbox
            *(line.replace("--port 8787", f"--port {port}") for line in lines),
        ]
    )
    path = os.pathsep.join([str(Path(CLI).parent), os.environ.get("PATH", "")])
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env={**os.environ, **env, "PATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def all_orders() -> set[str]:
    return {f"docs/ci/smoke/checkout.yaml#{i}" for i, _ in _indexed()}


def _indexed():
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        (source,) = collect(["docs/ci/smoke/"], Environment(environ={}).order_inputs())
    finally:
        os.chdir(cwd)
    return source.orders


def check_reports(reports: list[Path]) -> None:
    """The shards' JUnit reports cover every order of the suite exactly once, all passed."""
    names: list[str] = []
    for report in reports:
        root = ET.parse(report).getroot()
        assert root.get("failures") == "0" and root.get("errors") == "0", report.read_text()
        names += [c.get("name") for c in root.iter("testcase")]
    assert sorted(names) == sorted(all_orders())


def test_the_smoke_suite_expects_every_kind_of_outcome():
    outcomes = {order.expect.outcome for _, order in _indexed()}
    assert outcomes == {"placed", "declined", "out-of-stock", "captcha", "not-placed"}


def test_github_actions_recipe_runs_every_shard(workdir):
    cwd, port = workdir
    doc = yaml.safe_load((CI / "github-actions.yml").read_text())
    job = doc["jobs"]["smoke"]
    shards = job["strategy"]["matrix"]["shard"]
    steps = [s for s in job["steps"] if "run" in s and not s.get("name", "").startswith("Install")]
    assert len(steps) == 3
    upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()"
    setup = next(s for s in job["steps"] if "setup-python" in s.get("uses", ""))
    assert setup["with"]["cache"] == "pip"  # pip's downloads only: nothing secret
    assert not any("actions/cache" in s.get("uses", "") for s in job["steps"])
    assert f"--shard ${{{{ matrix.shard }}}}/{len(shards)}" in steps[-1]["run"]
    for shard in shards:
        lines = [s["run"].replace("${{ matrix.shard }}", str(shard)) for s in steps]
        r = run_script(lines, cwd, port, {k: str(v) for k, v in job["env"].items()})
        assert r.returncode == 0, r.stdout + r.stderr
        assert "✓ merchant" in r.stdout
    check_reports([cwd / f"junit-{s}.xml" for s in shards])


def test_gitlab_recipe_runs_every_node(workdir):
    cwd, port = workdir
    job = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["checkout-smoke"]
    assert job["artifacts"]["reports"]["junit"] == "junit.xml"
    assert job["artifacts"]["when"] == "always"
    assert job["cache"]["paths"] == [".pip-cache/"]  # pip's downloads only: nothing secret
    total = job["parallel"]
    reports = []
    for index in range(1, total + 1):
        env = {k: str(v) for k, v in job["variables"].items()}
        env |= {"CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(total)}
        env |= {"CI_PROJECT_DIR": str(cwd)}
        r = run_script(job["script"], cwd, port, env)
        assert r.returncode == 0, r.stdout + r.stderr
        report = cwd / f"junit-node-{index}.xml"
        (cwd / "junit.xml").rename(report)
        reports.append(report)
    check_reports(reports)
