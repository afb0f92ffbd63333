"""`cart-cli init`: the files of a starter smoke suite, and how CI installs this same cart-cli.

Pure: given the options and how this cart-cli was installed (its distribution's
``direct_url.json``, PEP 610), it returns the files to write; the command writes them. Reads no
process globals (the caller hands in the distribution's metadata)."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cart_cli.core.errors import UsageError

CI_KINDS = ("github", "gitlab")
CI_FILE = {"github": ".github/workflows/cart-cli-smoke.yml", "gitlab": ".gitlab-ci.yml"}
SUITE_FILE = "smoke/checkout.yaml"
CONFIG_FILE = "cart-cli.toml"
WHEELS = "tools"  # where a wheel this cart-cli was installed from is copied, for CI to install
DEFAULT_MERCHANT = "staging.luma.gift"
DEFAULT_PROFILE = "staging"
DIST = "cart-cli"
# A line of a CI template kept only for one target: "@sandbox@" or "@profile@" before it.
_ONLY = re.compile(r"^@(sandbox|profile)@")


class InstallUnknown(UsageError):
    """How this cart-cli was installed gives no line a CI job could install it with."""

    code = "InstallUnknown"


@dataclass(frozen=True)
class Install:
    """How the CI job installs cart-cli: pip's arguments, where they come from, and a wheel
    file to copy into the suite's folder (the CI job installs it from there)."""

    args: str  # shell words after `python -m pip install`
    origin: str  # said in the CI file's header
    wheel: Path | None = None  # copy this to WHEELS/ (args names it there)


@dataclass
class Scaffold:
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    copies: dict[str, Path] = field(default_factory=dict)  # relative path -> file to copy
    install: Install | None = None


def _file_path(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def asking(why: str, this: str | None = None) -> InstallUnknown:
    hint = (
        "Pass --install-spec with what a CI job can install: a git URL at a commit "
        "('cart-cli @ git+https://git.example.com/you/cart-cli@<commit>'), a wheel file "
        "(copied next to the suite), or a wheel's https URL."
    )
    if this:
        hint += f" On this machine only, --install-spec {shlex.quote(this)} would do."
    return InstallUnknown(f"cannot tell CI how to install this cart-cli: {why}", hint=hint)


def install_from_direct_url(text: str | None, version: str) -> Install:
    """The install line for the cart-cli that is running, from its ``direct_url.json``.

    A git URL and commit, a wheel's URL, or a wheel file still on this machine (copied next to
    the suite) give one; a package index (no direct_url.json: the name ``cart-cli`` is not
    published, so whoever registered it would run in your CI), a local folder or an editable
    checkout do not."""
    if not text:
        raise asking(
            f"cart-cli {version} was installed from a package index, and the name cart-cli is "
            "not published on PyPI (installing it by name could run someone else's package)"
        )
    try:
        doc = json.loads(text)
        url = str(doc["url"])
    except (ValueError, KeyError, TypeError):
        raise asking("its direct_url.json cannot be read") from None
    local = _file_path(url)
    if "vcs_info" in doc:
        vcs = doc["vcs_info"]
        if vcs.get("vcs") != "git" or not vcs.get("commit_id"):
            raise asking(f"it was installed from {vcs.get('vcs')} without a commit")
        spec = f"{DIST} @ git+{url}@{vcs['commit_id']}"
        if local is not None:
            raise asking(f"it was installed from a git repository on this machine ({url})", spec)
        return Install(shlex.quote(spec), f"git, {url} at commit {vcs['commit_id']}")
    if "archive_info" in doc:
        digest = str((doc.get("archive_info") or {}).get("hash") or "").replace("=", ":", 1)
        if local is None:
            fragment = f"#{digest.replace(':', '=', 1)}" if digest else ""
            return Install(shlex.quote(f"{DIST} @ {url}{fragment}"), url)
        if local.suffix != ".whl":
            raise asking(f"it was installed from {local}, an archive that is not a wheel")
        if not local.is_file():
            raise asking(f"it was installed from {local}, which is no longer there")
        if digest.startswith("sha256:") and _sha256(local) != digest.split(":", 1)[1]:
            raise asking(f"{local} has changed since this cart-cli was installed from it")
        return wheel_install(local)
    if "dir_info" in doc:
        how = "an editable checkout" if (doc["dir_info"] or {}).get("editable") else "a folder"
        this = f"{DIST} @ {url}" if local is None else str(local)
        raise asking(f"it was installed from {how} on this machine ({local or url})", this)
    raise asking("its direct_url.json names no git commit, wheel or folder")


def wheel_install(wheel: Path) -> Install:
    rel = f"{WHEELS}/{wheel.name}"
    return Install(shlex.quote(f"./{rel}"), f"the wheel {rel} (commit it with the suite)", wheel)


def install_from_spec(spec: str) -> Install:
    """``--install-spec``: pip's arguments as given (one requirement, URL or file; a wheel
    file on this machine is copied next to the suite)."""
    text = spec.strip()
    if not text or not text.isprintable():
        raise UsageError("--install-spec: give one line of text (a URL, a file, a requirement)")
    path = Path(text).expanduser()
    if text.endswith(".whl") and path.is_file():
        return wheel_install(path.resolve())
    if re.fullmatch(r"cart[-_.]cli\s*([<>=!~].*)?", text, flags=re.I):
        raise UsageError(
            f"--install-spec {text!r}: the name cart-cli is not published on PyPI; installing "
            "it by name could run someone else's package in your CI",
            hint="Give a git URL at a commit, a wheel file or a wheel's https URL.",
        )
    return Install(shlex.quote(text), text)


def yaml_scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as it is: plain when it can be, else quoted."""
    import yaml

    try:
        if yaml.safe_load(f"k: {text}\n") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return "'" + text.replace("'", "''") + "'"


def render(template: str, values: dict[str, str], target: str) -> str:
    """Fill @NAME@ markers; keep the lines marked for ``target`` (sandbox or profile)."""
    lines = []
    for line in template.splitlines(keepends=True):
        m = _ONLY.match(line)
        if m:
            if m.group(1) != target:
                continue
            line = line[m.end() :]
        lines.append(line)
    # one pass: a value is never read for markers itself
    return re.sub(r"@([A-Z_]+)@", lambda m: values[m.group(1)], "".join(lines))


def template(name: str) -> str:
    return (Path(__file__).parent.parent / "templates" / name).read_text("utf-8")


def scaffold(
    *,
    ci: str | None,
    install: Install | None,
    profile: str | None = None,
    merchant: str = DEFAULT_MERCHANT,
    shards: int = 2,
) -> Scaffold:
    """The files of a starter suite: the smoke suite, the commented config and, with ``ci``,
    the CI file (which needs ``install``)."""
    target = "profile" if profile else "sandbox"
    values = {
        "MERCHANT": merchant,
        "PROFILE": profile or DEFAULT_PROFILE,
        "SHARDS": str(shards),
        "SHARD_LIST": ", ".join(str(i) for i in range(1, shards + 1)),
    }
    out = Scaffold(install=install)
    out.files[SUITE_FILE] = render(template("smoke.yaml"), values, target)
    out.files[CONFIG_FILE] = render(template("cart-cli.toml"), values, target)
    if ci is not None:
        assert install is not None
        values["INSTALL"] = yaml_scalar(f"python -m pip install {install.args}")
        values["INSTALL_FROM"] = install.origin
        out.files[CI_FILE[ci]] = render(template(f"{ci}.yml"), values, target)
        if install.wheel is not None:
            out.copies[f"{WHEELS}/{install.wheel.name}"] = install.wheel
    return out


# docs/ci/: the same files, as init writes them for the wheel `make dist` builds
DOCS_RECIPES = {
    "smoke/checkout.yaml": SUITE_FILE,
    "cart-cli.toml": CONFIG_FILE,
    "github-actions.yml": CI_FILE["github"],
    "gitlab-ci.yml": CI_FILE["gitlab"],
}


def docs_recipes(version: str) -> dict[str, str]:
    """docs/ci/'s files (path there -> text): init's files for the sandbox, installing the
    wheel of this version from tools/."""
    wheel = wheel_install(Path(f"dist/cart_cli-{version}-py3-none-any.whl"))
    files: dict[str, str] = {}
    for ci in CI_KINDS:
        files |= scaffold(ci=ci, install=wheel).files
    return {doc: files[made] for doc, made in DOCS_RECIPES.items()}
