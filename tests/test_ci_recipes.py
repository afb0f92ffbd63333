"""What a new user does, end to end: the wheel this checkout builds, installed into an empty
venv; `cart-cli init DIR --ci github|gitlab` from it; then the CI file's own steps, install step
included, run locally for every shard against the sandbox. The files init writes are docs/ci/'s
recipes (tests/test_init.py), so this runs those as written too.

The wheel and the venv are made once per test session (some 20 s); everything else reuses them."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
import yaml

from cart_cli import __version__
from cart_cli.core import scaffold
from tests.helpers import ROOT
from tests.test_init import check_schema

# One wheel and one venv for the whole test session, made by whichever xdist worker comes first
# while the others wait (a lock in the session's shared temporary folder). The first test builds
# them (~20 s idle, over 60 s on a loaded 2-core machine) and each test then runs every CI
# shard's steps, pip install included: more than the suite's 120 s per test allows under load,
# hence a timeout of its own.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
XSD = Path(__file__).parent / "data" / "junit-10.xsd"
PIP = ["-m", "pip", "--quiet", "--disable-pip-version-check"]  # no look at PyPI for a newer pip


def once_per_session(tmp_path_factory, name: str, make) -> Path:
    """``make(folder)`` run once per test session, even across xdist workers; the folder."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # pytest-N/, above each worker's popen-gwN/
    folder = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel this checkout builds (pip wheel: what `make dist` builds, without the sdist)."""

    def build(out: Path) -> None:
        subprocess.run(
            [sys.executable, *PIP, "wheel", "--no-deps", "-w", out, ROOT],
            check=True,
            capture_output=True,
            timeout=300,
        )

    (built,) = once_per_session(tmp_path_factory, "wheel", build).glob("cart_cli-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Path:
    """An empty venv with the wheel installed by pip, as a CI job or `pipx` does: its bin/."""

    def install(folder: Path) -> None:
        venv.create(folder / "venv", with_pip=True)
        subprocess.run(
            [folder / "venv" / "bin" / "python", *PIP, "install", wheel],
            check=True,
            capture_output=True,
            timeout=300,
        )

    return once_per_session(tmp_path_factory, "venv", install) / "venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(
    lines: list[str], cwd: Path, env: dict, bin_dir: Path
) -> subprocess.CompletedProcess:
    """A CI job's shell lines, with the venv first on PATH (as setup-python or the image's
    python would be), from the repository's root; the background sandbox stopped after."""
    script = "\n".join(["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"])
    script += "\n" + "\n".join(lines)
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
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
        out, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def on_a_free_port(lines: list[str], port: int) -> list[str]:
    """The sandbox's 8787 may be taken on this machine: the test moves it (and the built-in
    sandbox profile, by a config file of the test's own) to a free port."""
    return [line.replace("--port 8787", f"--port {port}") for line in lines]


def init(installed: Path, repo: Path, ci: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [installed / "cart-cli", "init", repo, "--ci", ci],
        capture_output=True,
        text=True,
        timeout=60,
    )


def check_reports(reports: list[Path], suite: Path) -> None:
    """The shards' JUnit reports are valid against junit-10.xsd and cover every order of the
    suite exactly once, all passed (expectations met)."""
    schema = xmlschema.XMLSchema(XSD)
    names: list[str] = []
    for report in reports:
        schema.validate(str(report))
        root = ET.parse(report).getroot()
        assert root.get("failures") == "0" and root.get("errors") == "0", report.read_text()
        names += [c.get("name") for c in root.iter("testcase")]
    count = len(yaml.safe_load(suite.read_text())["orders"])
    assert sorted(names) == sorted(f"smoke/checkout.yaml#{i}" for i in range(count))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = tmp_path / "test-config.toml"
    config.write_text(f'[profiles.sandbox]\napi_url = "{url}"\npayment_url = "{url}"\n')
    monkeypatch.setenv("CART_CLI_CONFIG", str(config))
    return tmp_path / "repo", port


def the_same_as_the_docs(repo: Path, ci: str) -> None:
    """init wrote docs/ci/'s recipe (with the same wheel) and the same suite and config."""
    made = {v: k for k, v in scaffold.DOCS_RECIPES.items()}
    for rel in (scaffold.CI_FILE[ci], scaffold.SUITE_FILE, scaffold.CONFIG_FILE):
        assert (repo / rel).read_text() == (ROOT / "docs/ci" / made[rel]).read_text(), rel


def test_init_github_from_the_installed_wheel_then_its_steps_pass(installed, wheel, repo):
    repo, port = repo
    r = init(installed, repo, "github")
    assert r.returncode == 0, r.stderr
    assert (repo / "tools" / wheel.name).read_bytes() == wheel.read_bytes()
    the_same_as_the_docs(repo, "github")
    flow = repo / scaffold.CI_FILE["github"]
    check = check_schema(flow, "github")
    assert check.returncode == 0, check.stdout + check.stderr
    job = yaml.safe_load(flow.read_text())["jobs"]["smoke"]
    steps = [s["run"] for s in job["steps"] if "run" in s]
    assert steps[0] == f"python -m pip install ./tools/cart_cli-{__version__}-py3-none-any.whl"
    shards = job["strategy"]["matrix"]["shard"]
    for shard in shards:
        lines = [s.replace("${{ matrix.shard }}", str(shard)) for s in steps]
        r = run_script(on_a_free_port(lines, port), repo, job["env"], installed)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "✓ merchant" in r.stdout
        assert "expectations:" in r.stdout  # the stdout summary says how they went
    check_reports([repo / f"junit-{s}.xml" for s in shards], repo / scaffold.SUITE_FILE)
    upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()"
    for shard in shards:
        for name in upload["with"]["path"].splitlines():
            assert (repo / name.replace("${{ matrix.shard }}", str(shard))).is_file(), name


def test_init_gitlab_from_the_installed_wheel_then_its_steps_pass(installed, wheel, repo):
    repo, port = repo
    r = init(installed, repo, "gitlab")
    assert r.returncode == 0, r.stderr
    the_same_as_the_docs(repo, "gitlab")
    path = repo / scaffold.CI_FILE["gitlab"]
    check = check_schema(path, "gitlab")
    assert check.returncode == 0, check.stdout + check.stderr
    job = yaml.safe_load(path.read_text())["cart-cli-smoke"]
    total = job["parallel"]
    reports = []
    for index in range(1, total + 1):
        env = {k: str(v) for k, v in job["variables"].items()}
        env |= {"CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(total)}
        r = run_script(
            on_a_free_port(job["before_script"] + job["script"], port), repo, env, installed
        )
        assert r.returncode == 0, r.stdout + r.stderr
        for name in job["artifacts"]["paths"]:
            assert (repo / name).is_file(), name
        report = repo / f"junit-node-{index}.xml"
        (repo / job["artifacts"]["reports"]["junit"]).rename(report)
        reports.append(report)
    check_reports(reports, repo / scaffold.SUITE_FILE)


def test_the_installed_wheel_carries_what_it_needs_at_run_time(installed, tmp_path):
    """From an empty folder: the example order (place --sandbox) and init's templates."""
    r = subprocess.run(
        [installed / "cart-cli", "place", "--sandbox", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "placing the example" in r.stderr and "examples/one-item.yaml" in r.stderr
    r = subprocess.run(
        [
            installed / "cart-cli",
            "init",
            "--install-spec",
            "git+https://x.example/c@1",
            "--ci",
            "gitlab",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / ".gitlab-ci.yml").is_file() and (tmp_path / "smoke/checkout.yaml").is_file()
