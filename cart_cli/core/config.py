"""Profiles: named targets in a TOML file, and the target a command resolves to.

Reads no process globals: callers hand in the environment mapping and the config folder."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from cart_cli.core import defaults
from cart_cli.core.errors import UsageError
from cart_cli.core.guard import is_production
from cart_cli.core.urls import redact_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

CONFIG_ENV = "CART_CLI_CONFIG"
PROFILE_ENV = "CART_CLI_PROFILE"
CONFIG_NAME = "config.toml"
FLOWS = ("place-order", "cart", "auto")  # as core.order.FLOWS (not imported: config loads light)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SANDBOX_URL = "http://127.0.0.1:8787"  # what `cart-cli sandbox` serves by default


class ConfigInvalid(UsageError):
    code = "ConfigInvalid"


@dataclass(frozen=True)
class Profile:
    name: str
    api_url: str | None = None
    payment_url: str | None = None
    app_id: str | None = None
    ca_bundle: str | None = None
    flow: str | None = None
    allow_http: bool | None = None
    production: bool | None = None
    source: str = "built-in"

    def settings(self) -> dict:
        """The keys it sets, as in the file (URLs without any credentials in them)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("name", "source") or v is None:
                continue
            out[f.name] = redact_url(v) if f.name.endswith("_url") else v
        return out


KEYS = {
    "api_url": str,
    "payment_url": str,
    "app_id": str,
    "ca_bundle": str,
    "flow": str,
    "allow_http": bool,
    "production": bool,
}
BUILTIN = {
    "sandbox": Profile(
        "sandbox",
        api_url=SANDBOX_URL,
        payment_url=SANDBOX_URL,
        app_id=defaults.SANDBOX_APP_ID,
        production=False,
    )
}


def config_file(env: Mapping[str, str], config_dir: Path) -> Path:
    return Path(env[CONFIG_ENV]).expanduser() if env.get(CONFIG_ENV) else config_dir / CONFIG_NAME


@dataclass
class Config:
    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    exists: bool = False
    named_by: str | None = None  # the variable that named the file (CART_CLI_CONFIG), if any

    def get(self, name: str) -> Profile:
        if name not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            if not self.exists and self.named_by:  # a typo in the variable, most likely
                raise ConfigInvalid(
                    f"no profile {name!r}: {self.named_by} names the config file {self.path}, "
                    f"which does not exist (built-in profiles: {known})",
                    hint=f"Check {self.named_by}, or unset it to use the default config file.",
                )
            if not self.exists:
                raise ConfigInvalid(
                    f"no profile {name!r}: there is no config file {self.path} "
                    f"(built-in profiles: {known})",
                    hint="cart-cli profile add NAME makes one.",
                )
            raise ConfigInvalid(
                f"no profile {name!r} in {self.path} (known: {known})",
                hint="cart-cli profile list shows them; cart-cli profile add NAME makes one.",
            )
        return self.profiles[name]


def _line_of(text: str, name: str, key: str | None) -> int | None:
    """Best effort: the line of ``key`` in ``[profiles.NAME]`` (tomllib gives no positions)."""
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[\s*profiles\s*\.\s*[\"']?{re.escape(name)}[\"']?\s*\]")
    for i, line in enumerate(lines):
        if header.match(line):
            if key is None:
                return i + 1
            for j in range(i + 1, len(lines)):
                if lines[j].lstrip().startswith("["):
                    break
                if re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", lines[j]):
                    return j + 1
            return i + 1
    return None


def load_from(env: Mapping[str, str], config_dir: Path) -> Config:
    """The config file this environment names (CART_CLI_CONFIG, or the default one)."""
    return load(config_file(env, config_dir), named_by=CONFIG_ENV if env.get(CONFIG_ENV) else None)


def load(path: Path, *, named_by: str | None = None) -> Config:
    """The built-in profiles plus the file's (a missing file is an empty one)."""
    config = Config(path, dict(BUILTIN), named_by=named_by)
    from cart_cli.core.files import read_regular

    try:
        raw = read_regular(path)  # a FIFO or a device is refused, never waited on
    except FileNotFoundError:
        return config
    except OSError as e:
        raise ConfigInvalid(f"cannot read {path}: {e.strerror or e}") from None
    config.exists = True
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigInvalid(f"{path}:{line}: not UTF-8 text; save it as UTF-8") from None
    return _parse(text, config)


def _deep_line(text: str, limit: int = 100) -> int | None:
    """Best effort: the line where arrays and tables nest deeper than ``limit`` (quotes are
    not followed: good enough to point at the line a parser gave up on)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        for ch in line:
            depth += 1 if ch in "[{" else -1 if ch in "]}" else 0
            if depth > limit:
                return number
    return None


def _parse(text: str, config: Config) -> Config:
    path = config.path
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        at = re.search(r"at line (\d+)", str(e))
        where = f"{path}:{at.group(1)}" if at else str(path)
        raise ConfigInvalid(f"{where}: not valid TOML: {e}") from None
    except RecursionError:
        line = _deep_line(text)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigInvalid(f"{where}: not valid TOML: nested too deeply") from None

    def bad(name: str | None, key: str | None, message: str) -> ConfigInvalid:
        line = _line_of(text, name, key) if name else None
        where = f"{path}:{line}" if line else str(path)
        scope = f" [profiles.{name}]" if name else ""
        return ConfigInvalid(f"{where}:{scope}{' ' + key if key else ''}: {message}")

    for top in data:
        if top != "profiles":
            raise bad(None, top, "unknown setting (only [profiles.NAME] tables)")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise bad(None, "profiles", "must be tables: [profiles.NAME]")
    for name, table in profiles.items():
        if not NAME.match(name):
            raise bad(name, None, "a profile name is letters, digits, '-', '_' or '.'")
        if not isinstance(table, dict):
            raise bad(name, None, "must be a table of settings")
        values = {}
        for key, value in table.items():
            if key not in KEYS:
                known = ", ".join(KEYS)
                raise bad(name, key, f"unknown key (check the spelling; known: {known})")
            want = KEYS[key]
            if not isinstance(value, want):
                kind = "true or false" if want is bool else "a string"
                raise bad(name, key, f"must be {kind}")
            if want is str and not value.strip():
                raise bad(name, key, "must not be empty")
            if key.endswith("_url"):
                from urllib.parse import urlsplit

                try:
                    parts = urlsplit(value.strip())
                    ok = parts.scheme in ("http", "https") and parts.hostname and parts.port != 0
                except ValueError:  # "https://[::1", a port past 65535
                    ok = False
                if not ok:
                    raise bad(name, key, "must be an http(s) URL like https://api.example.com")
            if key == "flow" and value not in FLOWS:
                raise bad(name, key, f"must be one of {', '.join(FLOWS)}")
            if key == "ca_bundle":
                p = Path(value).expanduser()
                value = str(p if p.is_absolute() else path.parent / p)
            values[key] = value.strip() if isinstance(value, str) else value
        base = BUILTIN.get(name)
        profile = Profile(name, source=str(path), **values)
        if base is not None:  # a file may adjust a built-in profile
            profile = replace(base, source=str(path), **values)
        config.profiles[name] = profile
    return config


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes, but the text itself in UTF-8 (JSON's surrogate pairs
    are not TOML) and DEL escaped (JSON leaves it, TOML refuses it raw)."""
    import json

    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def add_profile(path: Path, profile: Profile) -> None:
    """Append ``[profiles.NAME]`` to the file (made 0600 if new); comments elsewhere are kept."""
    import os

    from cart_cli.core.files import open_append

    existing = load(path)
    if profile.name in existing.profiles and existing.profiles[profile.name].source != "built-in":
        raise ConfigInvalid(
            f"profile {profile.name!r} already exists in {path}; edit the file to change it"
        )
    lines = [f"[profiles.{profile.name}]"]
    for key in KEYS:
        value = getattr(profile, key)
        if value is None:
            continue
        lines.append(f"{key} = {'true' if value is True else 'false' if value is False else ''}")
        if isinstance(value, str):
            lines[-1] += toml_string(value)
    block = "\n".join(lines) + "\n"
    try:
        old = path.read_text("utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigInvalid(f"cannot read {path}: {e}") from None
    sep = "" if not old or old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
    _parse(old + sep + block, Config(path, dict(BUILTIN)))  # refuse before writing anything
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = open_append(path)  # a regular file, or OSError: never a device or a FIFO
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(sep + block)
    except OSError as e:
        raise ConfigInvalid(f"cannot write {path}: {e.strerror or e}") from None


# ---- the target a command resolves to ---


@dataclass
class Resolved:
    """Where a command sends, after flags, environment, profile and defaults."""

    api_url: str
    payment_url: str
    app_id: str
    profile: str | None = None
    production: bool = False
    allow_http: bool = False
    ca_bundle: str | None = None
    flow: str | None = None
    sandbox: bool = False  # the embedded sandbox (its URL is known once it has started)

    def summary(self) -> dict:
        """The target as --json, ledgers, reports and history show it."""
        return {
            "api_url": redact_url(self.api_url),
            "payment_url": redact_url(self.payment_url),
            "app_id": self.app_id,
            "profile": self.profile,
            "production": self.production,
        }

    def describe(self, kind: bool = True) -> str:
        """One line for a header or a receipt (``kind``: starting with PRODUCTION or staging)."""
        from urllib.parse import urlsplit

        # host:port only: never a user name or password from the URL
        api, pay = (urlsplit(u).netloc.rpartition("@")[2] for u in (self.api_url, self.payment_url))
        hosts = api if api == pay else f"{api} + {pay}"
        where = "embedded sandbox " + hosts if self.sandbox else hosts
        parts = ["PRODUCTION" if self.production else "staging"] if kind else []
        if self.profile:
            parts.append(f"profile {self.profile}")
        parts += [where, f"app id {self.app_id or '-'}"]
        return " · ".join(parts)


def production_of(p: Profile, api_url: str | None = None, payment_url: str | None = None) -> bool:
    """Is this profile production (with these URLs overriding its own, if given)?"""
    return is_production(
        (
            api_url or p.api_url or defaults.DEFAULT_API_URL,
            payment_url or p.payment_url or defaults.DEFAULT_PAYMENT_URL,
        ),
        declared=p.production,
        vouched=tuple(u for u in (p.api_url, p.payment_url) if u),
    )


def resolve(
    *,
    api_url: str | None,
    payment_url: str | None,
    app_id: str | None,
    ca_bundle: str | None = None,
    allow_http: bool = False,
    profile: str | None,
    sandbox: bool = False,
    env: Mapping[str, str],
    config_dir: Path,
) -> Resolved:
    """Flags (and their variables) win over the profile, which wins over the defaults."""
    name = profile or env.get(PROFILE_ENV) or None
    p = load_from(env, config_dir).get(name) if name else Profile("")
    # An empty --api-url "" stays empty (an error later), it does not mean the default.
    api = api_url if api_url is not None else p.api_url or defaults.DEFAULT_API_URL
    pay = payment_url if payment_url is not None else p.payment_url or defaults.DEFAULT_PAYMENT_URL
    return Resolved(
        api_url=api,
        payment_url=pay,
        app_id=(app_id or p.app_id or "") if not sandbox else defaults.SANDBOX_APP_ID,
        profile=None if sandbox else name,  # --sandbox sends to no profile's hosts
        production=not sandbox and production_of(p, api_url, payment_url),
        allow_http=bool(allow_http or p.allow_http),
        ca_bundle=ca_bundle or p.ca_bundle,
        flow=p.flow,
        sandbox=sandbox,
    )
