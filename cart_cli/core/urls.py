"""The target's URLs: checked, shown without secrets, and the proxy each one goes through.

Light on purpose (config and the CLI's help import it): requests is imported only to pick
proxies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from cart_cli.core.defaults import DEFAULT_API_URL, DEFAULT_PAYMENT_URL
from cart_cli.core.errors import UsageError
from cart_cli.core.guard import is_loopback


@dataclass(frozen=True)
class Endpoints:
    api_url: str = DEFAULT_API_URL
    payment_url: str = DEFAULT_PAYMENT_URL
    app_id: str = ""
    allow_http: bool = False  # plain http to a non-loopback host (CI service containers)

    def checked(self) -> Endpoints:
        api = check_url(self.api_url, "--api-url", self.allow_http)
        pay = check_url(self.payment_url, "--payment-url", self.allow_http)
        if not self.app_id.strip():
            raise UsageError("no application id: pass --app-id or set CART_CLI_APP_ID")
        return Endpoints(api, pay, self.app_id.strip(), self.allow_http)


def check_url(url: str, what: str, allow_http: bool = False) -> str:
    """The URL given as ``what`` (a flag name), or a UsageError that says how to fix it."""
    if not url.strip():
        raise UsageError(
            f"{what} is empty: give a base URL like https://api.example.com, or leave it out "
            "for the default"
        )
    shown = redact_url(url.strip())
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:  # "http://[::1": an unclosed IPv6 address
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise UsageError(f"{what} {shown!r} is not an http(s) URL (e.g. https://api.example.com)")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise UsageError(f"{what} {shown!r}: the port must be a number from 1 to 65535") from None
    if parts.scheme == "http" and not (allow_http or is_loopback(host)):
        raise UsageError(
            f"{what} {shown!r} uses plain http; only loopback hosts may (use https, or "
            "--allow-http for a CI service container)",
        )
    return url.strip().rstrip("/")


def redact_url(url: str) -> str:
    """The URL with any ``user:password@`` and its query shown as ``***`` (either may hold a
    secret); the one function for every URL shown or logged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    _, at, hostport = parts.netloc.rpartition("@")
    if not (at or parts.query):
        return url
    netloc = f"***@{hostport}" if at else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def host_port(url: str) -> str:
    """``host:port`` of a URL, never its user name or password."""
    return urlsplit(url).netloc.rpartition("@")[2]


# ---- proxies ---------------------------------------------------------------------------------


def proxy_table(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``urllib.request.getproxies_environment()`` reads from the process environment, read
    from the mapping given (the run's Environment): scheme -> proxy URL, and ``no`` -> NO_PROXY;
    ``<scheme>_proxy`` in either case, the lowercase one winning (an empty one unsets), and
    HTTP_PROXY ignored when REQUEST_METHOD is set (a CGI request's ``Proxy:`` header,
    CVE-2016-1000110). The same rules as the library's, which takes no mapping."""
    out: dict[str, str] = {}
    for name, value in environ.items():
        if value and name.lower().endswith("_proxy"):
            out[name.lower()[:-6]] = value
    if "REQUEST_METHOD" in environ:
        out.pop("http", None)
    for name, value in environ.items():
        if name.endswith("_proxy"):
            if value:
                out[name[:-6]] = value
            else:
                out.pop(name[:-6], None)
    return out


def environ_proxies(environ: Mapping[str, str], *urls: str) -> dict:
    """The proxy each of ``urls`` goes through, keyed by scheme and host as requests'
    ``Session.proxies`` understands them: requests' own ``should_bypass_proxies`` (NO_PROXY:
    ``*``, hosts, domain suffixes, ports, IPv4 CIDR networks) and ``select_proxy`` (the scheme's
    proxy, else ``all``) over ``proxy_table(environ)``. The process environment is not read."""
    from requests.utils import select_proxy, should_bypass_proxies

    table = proxy_table(environ)
    no_proxy = table.pop("no", "")
    out = {}
    for url in urls:
        if no_proxy and should_bypass_proxies(url, no_proxy=no_proxy):
            continue
        proxy = select_proxy(url, table)
        if proxy:
            parts = urlsplit(url)
            out[f"{parts.scheme}://{parts.hostname}"] = proxy
    return out
