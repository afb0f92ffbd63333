"""cart-cli init: the starter suite, the config profile and the CI files it writes, the install
line it derives from how this cart-cli was installed, and docs/ci/ being the same files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cart_cli import __version__
from cart_cli.core import config, scaffold
from cart_cli.core.errors import UsageError
from tests.helpers import ROOT, cli, target

SCHEMA = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
SPEC = "cart-cli @ git+https://git.example.com/qa/cart-cli@0123456789abcdef"


def check_schema(path: Path, kind: str) -> subprocess.CompletedProcess:
    """check-jsonschema with its built-in (vendored: offline) GitHub or GitLab schema."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", SCHEMA[kind], str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def keys(node) -> set[str]:
    """Every mapping key anywhere in a YAML document."""
    if isinstance(node, dict):
        return set(map(str, node)).union(*(keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(keys(v) for v in node))
    return set()


# ---- the install line, from direct_url.json ---


def test_a_git_install_gives_its_url_at_its_commit():
    doc = {
        "url": "https://git.example.com/qa/cart-cli.git",
        "vcs_info": {"vcs": "git", "commit_id": "abc123", "requested_revision": "main"},
    }
    got = scaffold.install_from_direct_url(json.dumps(doc), "0.1.0")
    assert got.args == "'cart-cli @ git+https://git.example.com/qa/cart-cli.git@abc123'"
    assert got.wheel is None and "abc123" in got.origin


def test_a_wheel_url_gives_the_url_with_its_hash():
    doc = {"url": "https://files.example.com/c.whl", "archive_info": {"hash": "sha256=ab12"}}
    got = scaffold.install_from_direct_url(json.dumps(doc), "0.1.0")
    assert got.args == "'cart-cli @ https://files.example.com/c.whl#sha256=ab12'"


def test_a_wheel_file_on_this_machine_is_copied_next_to_the_suite(tmp_path):
    wheel = tmp_path / "cart_cli-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    digest = hashlib.sha256(b"a wheel").hexdigest()
    doc = {"url": wheel.as_uri(), "archive_info": {"hash": f"sha256={digest}"}}
    got = scaffold.install_from_direct_url(json.dumps(doc), "0.1.0")
    assert got.args == f"./tools/{wheel.name}" and got.wheel == wheel
    wheel.write_bytes(b"another wheel")
    with pytest.raises(scaffold.InstallUnknown, match="has changed since"):
        scaffold.install_from_direct_url(json.dumps(doc), "0.1.0")
    wheel.unlink()
    with pytest.raises(scaffold.InstallUnknown, match="no longer there"):
        scaffold.install_from_direct_url(json.dumps(doc), "0.1.0")


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        (None, "installed from a package index, and the name cart-cli is not published"),
        ("{not json", "cannot be read"),
        ({"url": "file:///src/cart-cli", "dir_info": {"editable": True}}, "an editable checkout"),
        ({"url": "file:///src/cart-cli", "dir_info": {}}, "a folder on this machine"),
        (
            {"url": "file:///src/cart-cli", "vcs_info": {"vcs": "git", "commit_id": "abc"}},
            "a git repository on this machine",
        ),
        ({"url": "file:///x/c.tar.gz", "archive_info": {}}, "an archive that is not a wheel"),
        ({"url": "https://x.example/c", "vcs_info": {"vcs": "hg"}}, "from hg without a commit"),
    ],
)
def test_installs_ci_cannot_repeat_ask_for_install_spec(doc, why):
    text = doc if doc is None or isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(scaffold.InstallUnknown, match=why) as e:
        scaffold.install_from_direct_url(text, "0.1.0")
    assert "--install-spec" in e.value.hint


@pytest.mark.parametrize("spec", ["cart-cli", "cart_cli==0.1.0", "Cart-CLI>=0.1", " cart-cli "])
def test_install_spec_refuses_the_unpublished_name(spec):
    with pytest.raises(UsageError, match="not published on PyPI"):
        scaffold.install_from_spec(spec)


def test_install_spec_is_taken_as_given_and_a_wheel_file_is_copied(tmp_path):
    assert scaffold.install_from_spec(SPEC).args == f"'{SPEC}'"
    wheel = tmp_path / "cart_cli-9.9-py3-none-any.whl"
    wheel.write_bytes(b"w")
    got = scaffold.install_from_spec(str(wheel))
    assert got.wheel == wheel and got.args == "./tools/cart_cli-9.9-py3-none-any.whl"
    with pytest.raises(UsageError, match="one line"):
        scaffold.install_from_spec("x\ny")


# ---- the command ---


def test_init_writes_a_suite_that_passes_against_the_sandbox_and_a_commented_profile(
    cart_sandbox, tmp_path
):
    r = cli(["init", "proj"])
    assert r.code == 0, r.stderr
    assert r.stdout.split() == ["proj/smoke/checkout.yaml", "proj/cart-cli.toml"]
    assert "cart-cli batch smoke/ --sandbox" in r.stderr
    suite = yaml.safe_load((tmp_path / "proj/smoke/checkout.yaml").read_text())
    outcomes = [o["expect"]["outcome"] for o in suite["orders"]]
    assert {"placed", "declined", "out-of-stock"} <= set(outcomes)
    # the suite runs as written: every expectation met
    r = cli(["batch", "proj/smoke/", *target(cart_sandbox), "--json", "--no-history"])
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["expectations_met"] == len(outcomes) and doc["expectations_unmet"] == 0
    # the profile file is valid, commented, and names no secret
    toml = tmp_path / "proj/cart-cli.toml"
    loaded = config.load(toml)
    assert loaded.profiles["staging"].production is False
    assert loaded.profiles["staging"].app_id is None  # from a secret, never the file
    assert toml.read_text().count("\n# ") >= 10


def test_init_never_overwrites_unless_forced(tmp_path):
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke" / "checkout.yaml").write_text("mine\n")
    r = cli(["init", "--ci", "gitlab", "--install-spec", SPEC])
    assert r.code == 2 and "not overwriting what is in .: smoke/checkout.yaml" in r.stderr
    assert "--force" in r.stderr
    assert (tmp_path / "smoke" / "checkout.yaml").read_text() == "mine\n"
    assert not (tmp_path / "cart-cli.toml").exists() and not (tmp_path / ".gitlab-ci.yml").exists()
    r = cli(["init", "--ci", "gitlab", "--install-spec", SPEC, "--force"])
    assert r.code == 0, r.stderr
    assert "expect:" in (tmp_path / "smoke" / "checkout.yaml").read_text()


def test_init_ci_from_an_editable_checkout_asks_for_install_spec(tmp_path):
    r = cli(["init", "--ci", "github"])  # this test run's cart-cli: an editable install
    assert r.code == 2
    assert "cannot tell CI how to install this cart-cli" in r.stderr
    assert "--install-spec" in r.stderr
    assert not (tmp_path / "smoke").exists() and not (tmp_path / ".github").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--ci", "jenkins"],
        ["--profile", "sandbox"],
        ["--profile", "bad name"],
        ["--merchant", "not a domain"],
        ["--shards", "1"],
        ["--ci", "github", "--install-spec", "cart-cli"],
    ],
)
def test_init_refuses_bad_options_before_writing(tmp_path, args):
    r = cli(["init", "out", *args])
    assert r.code == 2, r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("profile", [None, "staging-eu"])
def test_generated_ci_files_validate_against_the_published_schemas(tmp_path, ci, profile):
    args = ["init", "out", "--ci", ci, "--install-spec", SPEC, "--shards", "3"]
    r = cli([*args, *(["--profile", profile] if profile else [])])
    assert r.code == 0, r.stderr
    path = tmp_path / "out" / scaffold.CI_FILE[ci]
    check = check_schema(path, ci)
    assert check.returncode == 0, check.stdout + check.stderr
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert "cache" not in keys(doc)  # nothing cached: no dependency file for pip, no secrets
    assert f"python -m pip install '{SPEC}'" in text
    assert "pip install cart-cli" not in text
    assert ("sandbox --port" in text) is (profile is None)
    if ci == "github":
        job = doc["jobs"]["smoke"]
        assert job["strategy"]["matrix"]["shard"] == [1, 2, 3]
        if profile:
            assert job["env"]["CART_CLI_APP_ID"] == "${{ secrets.CART_CLI_APP_ID }}"
            assert job["env"]["CART_CLI_PROFILE"] == profile
    else:
        job = doc["cart-cli-smoke"]
        assert job["parallel"] == 3 and job["artifacts"]["reports"]["junit"] == "junit.xml"
        assert "CART_CLI_APP_ID" not in job["variables"]  # a masked CI/CD variable instead
    if profile:
        profiles = config.load(tmp_path / "out" / "cart-cli.toml").profiles
        assert profile in profiles


@pytest.mark.slow
def test_the_schema_check_can_fail(tmp_path):
    bad = tmp_path / "w.yml"
    bad.write_text("name: x\non: push\njobs:\n  a:\n    steps: []\n")  # no runs-on
    assert check_schema(bad, "github").returncode != 0
    bad.write_text("job:\n  parallel: 1000\n  script: [echo]\n")
    assert check_schema(bad, "gitlab").returncode != 0


def test_docs_ci_recipes_are_what_init_writes():
    """docs/ci/ is init's output for the wheel `make dist` builds: regenerate with
    `make ci-recipes`."""
    for rel, text in scaffold.docs_recipes(__version__).items():
        assert (ROOT / "docs" / "ci" / rel).read_text() == text, f"docs/ci/{rel}: make ci-recipes"


def test_init_takes_a_merchant_as_the_other_commands_do(tmp_path):
    """One rule for --merchant (cli.options.merchant_domain): upper case is the same domain."""
    r = cli(["init", "out", "--merchant", "Shop.Example.COM", "--quiet"])
    assert r.code == 0, r.stderr
    suite = "".join(p.read_text() for p in (tmp_path / "out").rglob("*.yaml"))
    assert "merchant: shop.example.com" in suite and "Shop.Example" not in suite
    r = cli(["init", "out2", "--merchant", "not a domain"])
    assert r.code == 2 and "--merchant 'not a domain' must be a domain like" in r.stderr
