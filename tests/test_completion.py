"""Shell completion: the scripts, and what it completes (profiles, test cards, merchants)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cart_cli.core.history import History
from tests.helpers import CLI

pytestmark = pytest.mark.slow


def run(args: list[str], **env) -> subprocess.CompletedProcess:
    # The shell is named on the command line: typer would otherwise detect it from the parent
    # processes, which under `make` (a recipe run by /bin/sh) is "sh", and refuse it.
    env = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1", **env}
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )


def complete(words: str) -> list[str]:
    """What bash completion offers for the last word of ``words``."""
    parts = words.split(" ")
    p = run(
        [], _CART_CLI_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(parts) - 1)
    )
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script(shell):
    p = run(["--show-completion", shell])
    assert p.returncode == 0 and "_CART_CLI_COMPLETE" in p.stdout, p.stderr


def test_install_completion_writes_only_under_home(tmp_path):
    p = run(["--install-completion", "bash"], HOME=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "_CART_CLI_COMPLETE" in (tmp_path / ".bash_completions" / "cart-cli.sh").read_text()


def test_completes_commands_and_test_card_aliases():
    assert complete("cart-cli pro") == ["products", "profile"]
    assert complete("cart-cli place --card test:d") == ["test:declined"]
    assert "test:visa" in complete("cart-cli place --card ")


def test_completes_profile_names_from_the_config_file():
    path = Path(os.environ["CART_CLI_CONFIG"])
    path.parent.mkdir(parents=True)
    path.write_text('[profiles.staging-eu]\napp_id = "x"\n\n[profiles.live]\nproduction = true\n')
    assert complete("cart-cli place --profile ") == ["live", "sandbox", "staging-eu"]
    assert complete("cart-cli doctor --profile st") == ["staging-eu"]
    assert complete("cart-cli profile show l") == ["live"]
    path.write_text("[broken\n")  # a broken file completes the built-in ones, quietly
    assert complete("cart-cli batch --profile ") == ["sandbox"]


def test_completes_merchant_domains_from_the_history():
    h = History(Path(os.environ["CART_CLI_DATA_DIR"]))
    for m in ("staging.luma.gift", "shop.example.com", "staging.luma.gift"):
        h.append({"schema": "cart-cli.history/1", "merchant": m})
    assert complete("cart-cli place --merchant ") == ["shop.example.com", "staging.luma.gift"]
    assert complete("cart-cli doctor --merchant sh") == ["shop.example.com"]
    assert complete("cart-cli orders list --merchant st") == ["staging.luma.gift"]
