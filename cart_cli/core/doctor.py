"""cart-cli doctor: is the target reachable and usable? One check at a time, each timed.

config, DNS, TLS (with the CA bundle), browser session, public key (kid, key size), merchant (an
empty cart read). A check whose ground failed is skipped, not failed again. No terminal code."""

from __future__ import annotations

import base64
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cart_cli.core.errors import CartError, Exit
from cart_cli.wire.clock import system_clock

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class Check:
    name: str
    status: str
    ms: int = 0
    detail: str = ""
    hint: str = ""
    exit_code: Exit = Exit.OK

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "status": self.status,
            "ms": self.ms,
            "detail": self.detail,
            "hint": self.hint or None,
            "exit_code": int(self.exit_code),
        }


class _Failed(Exception):
    def __init__(self, detail: str, exit_code: Exit, hint: str = "") -> None:
        super().__init__(detail)
        self.detail, self.exit_code, self.hint = detail, exit_code, hint


def _timed(name: str, body: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail = body()
        status, code, hint = OK, Exit.OK, ""
    except _Failed as f:
        status, code, hint, detail = FAILED, f.exit_code, f.hint, f.detail
    except CartError as e:
        status, code, hint = FAILED, e.exit_code, e.hint or ""
        detail = f"{e.code}: {e.message}" if e.code not in ("UsageError",) else e.message
        if e.request_id and not _unreached(e):  # an id no server ever saw finds nothing
            detail += f" (request id {e.request_id})"
    return Check(name, status, int((time.perf_counter() - started) * 1000), detail, hint, code)


def _unreached(e: BaseException) -> bool:
    """A connection-level failure (refused, DNS, TLS, connect timeout): nothing reached a
    server (the transport marks these ``unreachable``)."""
    return bool(getattr(e, "unreachable", False))


def _hosts(urls: tuple[str, ...]) -> list[tuple[str, str, int]]:
    """(scheme, host, port) of each distinct origin."""
    out = []
    for url in urls:
        p = urlsplit(url)
        origin = (p.scheme, p.hostname or "", p.port or (443 if p.scheme == "https" else 80))
        if origin not in out:
            out.append(origin)
    return out


def key_bits(jwk: dict) -> int:
    n = str(jwk.get("n", ""))
    raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    return int.from_bytes(raw, "big").bit_length()


def run(
    *,
    urls: tuple[str, str],
    ca_bundle: str | None,
    merchant: str | None,
    client: Callable[[], object],
    timeout: float = 10.0,
    resolve: Callable = socket.getaddrinfo,
    now: Callable[[], datetime] = system_clock,
) -> Iterator[Check]:
    """The checks after config, in order, each yielded as soon as it is done. ``client`` makes the
    API client (without a token cache: the session check must really ask for one). ``now``:
    the run's clock (a certificate's time left is counted from it)."""
    origins = _hosts(urls)

    def dns() -> str:
        seen = []
        for _, host, port in origins:
            try:
                infos = resolve(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as e:
                raise _Failed(
                    f"{host}: host name not found ({getattr(e, 'strerror', None) or e})",
                    Exit.NETWORK,
                    "Check the URL's host name, or your DNS and network.",
                ) from None
            seen.append(f"{host} → {infos[0][4][0]}")
        return ", ".join(seen)

    def tls() -> str:
        secure = [(h, p) for s, h, p in origins if s == "https"]
        if not secure:
            return "plain http: no TLS to check"
        parts = []
        for host, port in secure:
            try:
                ctx = ssl.create_default_context(cafile=ca_bundle or _default_cafile())
                with socket.create_connection((host, port), timeout=timeout) as raw:  # noqa: SIM117
                    with ctx.wrap_socket(raw, server_hostname=host) as s:
                        cert = s.getpeercert() or {}
                        version = s.version()
            except ssl.SSLCertVerificationError as e:
                raise _Failed(
                    f"{host}:{port}: certificate not trusted ({e.verify_message})",
                    Exit.NETWORK,
                    "For a private CA, pass --ca-bundle FILE (or ca_bundle in the profile).",
                ) from None
            except (ssl.SSLError, OSError) as e:
                raise _Failed(
                    f"{host}:{port}: no TLS connection ({getattr(e, 'strerror', None) or e})",
                    Exit.NETWORK,
                    "Is it an https port? Check the URL and the network.",
                ) from None
            expiry = ""
            if cert.get("notAfter"):
                hours = (ssl.cert_time_to_seconds(cert["notAfter"]) - now().timestamp()) / 3600
                left = f"{int(hours)} h" if hours < 48 else f"{int(hours / 24)} days"
                expiry = f", certificate expires in {left}"
            parts.append(f"{host}: {version}{expiry}")
        return "; ".join(parts) + (f" (CA bundle {ca_bundle})" if ca_bundle else "")

    state: dict = {}
    # The origin each check talks to; one that could not be reached is not tried again.
    needs = {"session": _hosts(urls[:1])[0], "public key": _hosts(urls[1:])[0]}
    dead: dict[tuple, str] = {}  # origin -> the check that could not reach it

    def reaching(name: str, body: Callable[[], str]) -> Callable[[], str]:
        def run_it() -> str:
            try:
                return body()
            except CartError as e:
                if _unreached(e):
                    dead.setdefault(needs[name], name)
                raise

        return run_it

    def session() -> str:
        c = state["client"] = client()
        c.token()
        s = getattr(c, "_session", None)
        if s is None:
            return "token received"
        left = int((s.expires - c.clock()) / 60)  # the lifetime was measured by its clock
        device = f"device {s.device_id[:8]}…, " if s.device_id else ""
        return f"{device}token valid {left} min"

    def key() -> str:
        c = state.get("client") or client()
        k = c.public_key()
        kid = f"kid {k.kid}" if k.kid else "no kid (the current key)"
        return f"{kid}, RSA {key_bits(k.jwk)} bits"

    def cart() -> str:
        data = state["client"].cart(merchant)
        lines = data.get("line_items") or []
        name = data.get("display_name") or merchant
        where = f"{name} ({data.get('platform_id', '?')})"
        return f"{where}: cart read, {len(lines)} line{'s' if len(lines) != 1 else ''} in it"

    steps = [("dns", dns), ("tls", tls), ("session", session), ("public key", key)]
    failed: set[str] = set()
    for name, body in steps:
        if name in ("tls", "session", "public key") and failed & {"dns", "tls"}:
            yield Check(name, SKIPPED, detail="skipped: the host cannot be reached")
            failed.add(name)
            continue
        if name in needs and needs[name] in dead:
            _, host, port = needs[name]
            why = f"skipped: {host}:{port} could not be reached (the {dead[needs[name]]} check)"
            yield Check(name, SKIPPED, detail=why)
            failed.add(name)
            continue
        check = _timed(name, reaching(name, body) if name in needs else body)
        if check.status == FAILED:
            failed.add(name)
        yield check
    if not merchant:
        yield Check("merchant", SKIPPED, detail="pass --merchant DOMAIN to read its cart")
    elif failed & {"dns", "tls", "session"}:
        yield Check("merchant", SKIPPED, detail="skipped: no session")
    else:
        yield _timed("merchant", cart)


def _default_cafile() -> str | None:
    """What requests trusts by default (certifi), so the TLS check agrees with the client."""
    try:
        import certifi

        return certifi.where()
    except ImportError:  # pragma: no cover - requests depends on it
        return None
