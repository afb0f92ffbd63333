"""Profiles (file, env, flag precedence, bad files), the target in every output, the production
guard (test cards, --yes, confirmation on a terminal) and --allow-http."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from cart_cli.core import config
from cart_cli.core.config import ConfigInvalid
from cart_cli.core.guard import is_production
from tests.helpers import ADDRESS, CLI, SECRET_CARD, cli, sandbox_orders, write_order


def config_path() -> Path:
    return Path(os.environ["CART_CLI_CONFIG"])


def write_config(text: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def profile_toml(name: str, url: str, app_id: str = "from-profile", **extra) -> str:
    lines = [f"[profiles.{name}]", f'api_url = "{url}"', f'payment_url = "{url}"']
    lines.append(f'app_id = "{app_id}"')
    for k, v in extra.items():
        lines.append(f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v)}")
    return "\n".join(lines) + "\n\n"


@pytest.fixture
def order_file(tmp_path):
    return write_order(tmp_path / "order.yaml")


@pytest.fixture
def real_card(tmp_path):
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(SECRET_CARD))
    return path


# ---- profiles ---


def test_a_profile_supplies_the_target_and_json_shows_it(cart_sandbox, order_file):
    write_config(profile_toml("local", cart_sandbox.url))
    r = cli(["place", order_file, "--profile", "local", "--json", "-q"])
    assert r.code == 0, r.stderr
    assert r.json()["target"] == {
        "api_url": cart_sandbox.url,
        "payment_url": cart_sandbox.url,
        "app_id": "from-profile",
        "profile": "local",
        "production": False,
    }


def test_env_picks_the_profile_and_flags_and_env_override_its_fields(cart_sandbox, order_file):
    write_config(profile_toml("local", "http://127.0.0.1:9"))  # nothing listens there
    env = {"CART_CLI_PROFILE": "local", "CART_CLI_APP_ID": "from-env"}
    r = cli(
        [
            "place",
            order_file,
            "--json",
            "-q",
            *("--api-url", cart_sandbox.url),
            "--payment-url",
            cart_sandbox.url,
        ],
        env=env,
    )
    assert r.code == 0, r.stderr
    t = r.json()["target"]
    assert (
        t["profile"] == "local" and t["app_id"] == "from-env" and t["api_url"] == cart_sandbox.url
    )
    # the flag beats the variable
    r = cli(["place", order_file, "--app-id", "from-flag", "--json", "-q"], env=env)
    assert r.code == 7  # the profile's URL is used, and nothing listens there
    assert r.json()["target"]["app_id"] == "from-flag"


def test_sandbox_runs_name_no_profile_even_when_one_is_active(order_file):
    write_config(profile_toml("ci", "https://api.example.com"))
    r = cli(["place", order_file, "--sandbox", "--json", "-q"], env={"CART_CLI_PROFILE": "ci"})
    assert r.code == 0, r.stderr
    assert r.json()["target"]["profile"] is None
    assert "profile ci" not in r.stderr


def test_the_built_in_sandbox_profile(order_file):
    p = config.load(config_path()).get("sandbox")
    assert p.api_url == "http://127.0.0.1:8787" and p.production is False
    r = cli(["profile", "list", "--json"])
    assert r.code == 0 and [x["name"] for x in r.json()["profiles"]] == ["sandbox"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[profiles.ci]\napi_ur = "https://a.example"\n', ":2: [profiles.ci] api_ur: unknown key"),
        ("[profiles.ci]\nproduction = 1\n", ":2: [profiles.ci] production: must be true or false"),
        ('[profiles.ci]\napi_url = "ftp://x"\n', "[profiles.ci] api_url: must be an http(s) URL"),
        ('[profiles.ci]\nflow = "fast"\n', "[profiles.ci] flow: must be one of place-order, cart"),
        ("[profiles.ci\n", "not valid TOML"),
        ('default = "ci"\n', "default: unknown setting"),
    ],
)
def test_bad_config_files_name_file_profile_and_key(order_file, text, message):
    path = write_config(text)
    r = cli(["place", order_file, "--profile", "ci"])
    assert r.code == 2
    assert str(path) in r.stderr and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_an_unknown_profile_lists_the_known_ones(order_file):
    write_config(profile_toml("staging", "https://api.example.com"))
    r = cli(["place", order_file, "--profile", "nope"])
    assert r.code == 2 and "no profile 'nope'" in r.stderr and "sandbox" in r.stderr
    assert "staging" in r.stderr and "does not exist" not in r.stderr


def test_a_config_file_that_does_not_exist_is_named_as_missing(order_file, tmp_path):
    """CART_CLI_CONFIG with a typo: the message says the file is missing, not only the profile."""
    missing = tmp_path / "conf" / "cart-cli.tmol"
    env = {"CART_CLI_CONFIG": str(missing), "CART_CLI_PROFILE": "staging"}
    for args in (["place", order_file], ["profile", "show", "staging"]):
        r = cli(args, env=env)
        assert r.code == 2, r.stderr
        assert f"CART_CLI_CONFIG names the config file {missing}, which does not exist" in r.stderr
        assert "Check CART_CLI_CONFIG, or unset it" in r.stderr
    r = cli(["place", order_file], env={"CART_CLI_CONFIG": "", "CART_CLI_PROFILE": "staging"})
    assert r.code == 2 and "there is no config file" in r.stderr and "xdg-config" in r.stderr


def test_profile_add_show_list(tmp_path):
    r = cli(
        [
            "profile",
            "add",
            "stg",
            "--app-id",
            "app-1",
            "--staging",
            "--api-url",
            "https://bob:hunter2@api.stg.example.com/?key=s3",
        ]
    )
    assert r.code == 0, r.stderr
    assert config_path().stat().st_mode & 0o777 == 0o600
    r = cli(["profile", "add", "live", "--api-url", "https://api.shop.example", "--app-id", "x"])
    assert r.code == 0 and "PRODUCTION" in r.stderr
    r = cli(["profile", "add", "live", "--app-id", "y"])
    assert r.code == 2 and "already exists" in r.stderr
    for bad in ("nope", "https://[::1", "https://api.example.com:99999"):  # was: a traceback
        r = cli(["profile", "add", "broken", "--api-url", bad])
        assert r.code == 2 and "must be an http(s) URL" in r.stderr, (bad, r.stderr)
    assert "broken" not in config_path().read_text()  # nothing half-written
    r = cli(["profile", "show", "stg"])
    assert r.code == 0 and "api.stg.example.com" in r.stdout and "app-1" in r.stdout
    assert "hunter2" not in r.stdout and "bob" not in r.stdout and "s3" not in r.stdout
    doc = cli(["profile", "show", "live", "--json"]).json()
    assert doc["is_production"] is True
    names = [p["name"] for p in cli(["profile", "list", "--json"]).json()["profiles"]]
    assert names == ["live", "sandbox", "stg"]


def test_production_rule():
    staging = ("https://api.firmly.work", "https://cc.firmly.work")
    assert not is_production(staging)
    assert not is_production(("http://127.0.0.1:8787", "http://localhost:1"))
    assert is_production(("https://api.firmly.com", "https://cc.firmly.work"))
    assert is_production(("https://evilfirmly.work",))
    assert is_production(staging, declared=True)
    own = ("https://stg.shop.example",)
    assert not is_production(own, declared=False, vouched=own)
    # production = false vouches only for the hosts the profile names
    assert is_production(("https://live.shop.example",), declared=False, vouched=own)
    assert not is_production(("https://live.shop.example",), embedded_sandbox=True)


def test_config_loader_refuses_what_it_cannot_read(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigInvalid, match="not UTF-8"):
        config.load(bad)
    assert config.load(tmp_path / "missing.toml").profiles.keys() == {"sandbox"}


# ---- the target, always visible ---


def test_target_in_the_progress_header_and_receipt(cart_sandbox, order_file):
    write_config(profile_toml("local", cart_sandbox.url))
    r = cli(["place", order_file, "--profile", "local"])
    assert r.code == 0, r.stderr
    host = cart_sandbox.url.removeprefix("http://")
    line = f"staging · profile local · {host} · app id from-profile"
    assert f"target: {line}" in r.stderr.splitlines()[0]
    assert "Sent to" in r.stdout and line in r.stdout


# ---- the production guard ---


@pytest.fixture
def production(cart_sandbox):
    """A profile that says production, pointing at the sandbox (so nothing real is hit)."""
    write_config(profile_toml("live", cart_sandbox.url, production=True))
    return cart_sandbox


def test_production_refuses_test_cards_before_sending(production, order_file):
    r = cli(["place", order_file, "--profile", "live", "--yes"])
    assert r.code == 2 and "test card test:visa refused: the target is production" in r.stderr
    assert sandbox_orders(production) == []


def test_production_without_yes_and_no_terminal_is_exit_2(production, order_file, real_card):
    r = cli(["place", order_file, "--profile", "live", "--card", real_card])
    assert r.code == 2 and "needs --yes" in r.stderr
    assert sandbox_orders(production) == []
    r = cli(["place", order_file, "--profile", "live", "--card", real_card, "--yes", "--json"])
    assert r.code == 0, r.stderr
    assert r.json()["target"]["production"] is True
    assert len(sandbox_orders(production)) == 1


def test_staging_needs_no_yes(cart_sandbox, order_file):
    write_config(profile_toml("local", cart_sandbox.url))
    r = cli(["place", order_file, "--profile", "local", "-q"], input="")
    assert r.code == 0, r.stderr


def _pty_run(args: list[str], answer: bytes, env: dict) -> tuple[int, str]:
    import pty

    pid, fd = pty.fork()
    if pid == 0:
        os.execve(CLI, [CLI, *args], {**os.environ, **env})
    seen = b""
    deadline = time.monotonic() + 30
    while b"Type the merchant domain" not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(fd, 4096)
        except OSError:
            break
    assert b"Type the merchant domain" in seen, seen
    os.write(fd, answer + b"\n")
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


@pytest.mark.slow
def test_production_asks_for_the_merchant_domain_on_a_terminal(production, order_file, real_card):
    args = ["place", str(order_file), "--profile", "live", "--card", str(real_card)]
    env = {"CART_CLI_CONFIG": os.environ["CART_CLI_CONFIG"]}
    code, text = _pty_run(args, b"staging.luma.gif", env)
    assert code == 2 and "not confirmed" in text
    assert "to PRODUCTION (profile live · 127.0.0.1:" in text  # the prompt says where
    assert sandbox_orders(production) == []
    code, text = _pty_run(args, b"staging.luma.gift", env)
    assert code == 0, text
    assert "PRODUCTION" in text and len(sandbox_orders(production)) == 1


# ---- plain http ---


def test_allow_http_permits_a_non_loopback_host_with_a_warning(order_file):
    url = "http://sandbox.internal:8787"
    r = cli(["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x"])
    assert r.code == 2 and "plain http" in r.stderr and "--allow-http" in r.stderr
    args = ["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x"]
    r = cli([*args, "--allow-http", "--timeout", "1", "--yes", "--card", "test:visa"])
    # it is not a known staging host, so the guard sees production (and refuses the test card)
    assert r.code == 2 and "test card" in r.stderr
    write_config(profile_toml("ci", url, allow_http=True, production=False))
    r = cli(["place", order_file, "--profile", "ci", "--timeout", "1"])
    assert "warning: plain http to sandbox.internal:8787" in r.stderr
    assert r.code == 7  # it was allowed, and then the host was not found


# ---- batch: the guard, budgets, the target in ledger, JUnit and JSON ---


def _batch_file(tmp_path, n: int, card) -> Path:
    doc = {
        "defaults": {
            "merchant": "staging.luma.gift",
            "shipping_info": ADDRESS,
            "card": card,
        },
        "orders": [{"items": [{"variant_id": "WS12-XS-Orange", "quantity": 1}]}] * n,
    }
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_batch_against_production_needs_a_limit_and_yes(production, tmp_path):
    f = _batch_file(tmp_path, 3, "test:visa")
    r = cli(["batch", f, "--profile", "live", "--yes", "--max-orders", "1"])
    assert r.code == 2 and "test card" in r.stderr
    f = _batch_file(tmp_path, 3, SECRET_CARD)
    r = cli(["batch", f, "--profile", "live", "--yes"])
    assert r.code == 2 and "--max-orders N or --max-spend AMOUNT" in r.stderr
    r = cli(["batch", f, "--profile", "live", "--max-orders", "2"])
    assert r.code == 2 and "needs --yes" in r.stderr
    assert sandbox_orders(production) == []
    r = cli(["batch", f, "--profile", "live", "--max-orders", "2", "--yes", "--json", "-q"])
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["placed"] == 2 and doc["not_run"] == 1 and "--max-orders 2" in doc["budget_stop"]
    assert doc["target"]["production"] is True
    assert len(sandbox_orders(production)) == 2


def test_max_spend_stops_launching_once_reached(cart_sandbox, tmp_path):
    write_config(profile_toml("local", cart_sandbox.url))
    f = _batch_file(tmp_path, 6, "test:visa")  # each order is $29.26
    r = cli(
        [
            "batch",
            f,
            "--profile",
            "local",
            "--max-spend",
            "50",
            "--json",
            "-q",
            "--concurrency",
            "1",
        ]
    )
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["placed"] == 2 and doc["not_run"] == 4
    assert "--max-spend 50 reached (spent 58.52)" in doc["budget_stop"]
    assert len(sandbox_orders(cart_sandbox)) == 2
    r = cli(["batch", f, "--profile", "local", "--max-spend", "-3"])
    assert r.code == 2 and "must be a positive amount" in r.stderr


def test_batch_target_in_ledger_junit_and_header(cart_sandbox, tmp_path):
    import json
    import xml.etree.ElementTree as ET

    write_config(profile_toml("local", cart_sandbox.url))
    f = _batch_file(tmp_path, 2, "test:visa")
    ledger, junit = tmp_path / "l.jsonl", tmp_path / "j.xml"
    r = cli(["batch", f, "--profile", "local", "--ledger", ledger, "--junit", junit])
    assert r.code == 0, r.stderr
    assert "target: staging · profile local" in r.stderr
    lines = [json.loads(x) for x in ledger.read_text().splitlines()][1:]  # after the header
    assert lines and all(x["target"]["profile"] == "local" for x in lines)
    props = {
        p.get("name"): p.get("value")
        for p in ET.parse(junit).getroot().find("testsuite").find("properties")
    }
    assert props["target.api_url"] == cart_sandbox.url
    assert props["target.production"] == "false" and props["target.profile"] == "local"


def test_sandbox_on_a_non_loopback_host_needs_an_app_id_allow_list():
    r = cli(["sandbox", "--host", "0.0.0.0", "--port", "0"])
    assert r.code == 2 and "--app-id" in r.stderr and "not a loopback address" in r.stderr


def test_a_relative_ca_bundle_is_relative_to_the_config_file(tmp_path, monkeypatch):
    write_config('[profiles.corp]\nca_bundle = "certs/ca.pem"\n')
    monkeypatch.chdir(tmp_path.parent)  # from another folder
    p = config.load(config_path()).get("corp")
    assert p.ca_bundle == str(config_path().parent / "certs" / "ca.pem")


# ---- properties: the loader never fails any other way; the production rule ---

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

VALUES = st.one_of(st.booleans(), st.integers(), st.text(max_size=30), st.just("https://a.example"))


@given(st.text(max_size=200))
def test_any_text_is_a_config_or_a_clear_refusal(text):
    path = Path(os.environ["CART_CLI_CONFIG"]).parent / "fuzz.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    try:
        cfg = config.load(path)
    except ConfigInvalid as e:
        assert str(path) in e.message
    else:
        assert "sandbox" in cfg.profiles


@given(st.dictionaries(st.sampled_from([*config.KEYS, "secret", "url"]), VALUES, max_size=5))
def test_any_profile_table_loads_or_names_its_key(table):
    import json

    def toml(v):
        return config.toml_string(v) if isinstance(v, str) else json.dumps(v)

    path = Path(os.environ["CART_CLI_CONFIG"]).parent / "fuzz.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{k} = {toml(v)}\n" for k, v in table.items())
    path.write_text("[profiles.p]\n" + body, "utf-8")
    try:
        p = config.load(path).get("p")
    except ConfigInvalid as e:
        assert "[profiles.p]" in e.message
        assert any(f" {k}: " in e.message for k in table)
    else:
        assert set(table) <= set(config.KEYS)
        assert p.settings().keys() <= set(config.KEYS)


@given(st.text(max_size=40))
def test_any_string_written_by_profile_add_reads_back(text):
    from cart_cli.core.config import tomllib  # tomli on 3.10

    assert tomllib.loads(f"v = {config.toml_string(text)}")["v"] == text


@given(st.sampled_from(["127.0.0.1", "localhost", "[::1]", "api.firmly.work", "x.firmly.work"]))
def test_known_staging_hosts_are_production_only_when_declared(host):
    url = f"https://{host}:8443"
    assert not is_production((url,))
    assert is_production((url,), declared=True)


# ---- cart checkout and the profile's flow ---


def test_cart_checkout_against_production_is_guarded(production, tmp_path, real_card):
    from cart_cli.core.history import History

    ship = tmp_path / "ship.yaml"
    ship.write_text(yaml.safe_dump(ADDRESS))
    m = ["--merchant", "staging.luma.gift", "--profile", "live"]
    assert cli(["cart", "add", "24-MB01", *m]).code == 0
    assert cli(["cart", "ship", ship, *m]).code == 0
    r = cli(["cart", "checkout", *m, "--card", "test:visa", "--yes"])
    assert r.code == 2 and "test card test:visa refused" in r.stderr
    r = cli(["cart", "checkout", *m, "--card", real_card])
    assert r.code == 2 and "needs --yes" in r.stderr
    assert sandbox_orders(production) == []
    r = cli(["cart", "checkout", *m, "--card", real_card, "--yes", "--json"])
    assert r.code == 0, r.stderr
    assert r.json()["target"]["production"] is True and len(sandbox_orders(production)) == 1
    (rec,) = History(Path(os.environ["CART_CLI_DATA_DIR"])).read()
    assert rec["source"] == "cart checkout" and rec["target"]["profile"] == "live"


def test_a_profiles_flow_is_used_unless_the_order_flag_or_variable_says(cart_sandbox, order_file):
    write_config(profile_toml("carts", cart_sandbox.url, flow="cart"))
    r = cli(["place", order_file, "--profile", "carts"])
    assert r.code == 0, r.stderr
    assert r.stderr.splitlines()[1] == "creating cart on staging.luma.gift"  # the cart flow
    r = cli(["place", order_file, "--profile", "carts"], env={"CART_CLI_FLOW": "place-order"})
    assert r.code == 0 and r.stderr.splitlines()[1] == "sending order to staging.luma.gift"


def test_the_target_line_never_shows_a_password_from_a_url(cart_sandbox, order_file):
    url = cart_sandbox.url.replace("http://", "http://ops:hunter2@")
    r = cli(["place", order_file, "--api-url", url, "--payment-url", url, "--app-id", "x"])
    assert r.code == 0, r.stderr
    assert "hunter2" not in r.stdout + r.stderr and "ops:" not in r.stdout + r.stderr


def test_profile_add_names_a_config_path_from_the_environment_without_its_controls(
    tmp_path, monkeypatch
):
    odd = tmp_path / "conf\x1b]0;pwned\x07" / "config.toml"
    monkeypatch.setenv("CART_CLI_CONFIG", str(odd))
    r = cli(["profile", "add", "stg", "--app-id", "a", "--staging"])
    assert r.code == 0, r.stderr
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "conf\\x1b]0;pwned\\x07" in r.stderr  # shown, visibly
