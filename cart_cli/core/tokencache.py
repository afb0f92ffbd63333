"""The device-token cache: one file per (api URL, app id), mode 0600 in a 0700 directory."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from cart_cli.core.files import atomic_write


class TokenCache:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def path(self, api_url: str, app_id: str) -> Path:
        digest = hashlib.sha256(f"{api_url}\n{app_id}".encode()).hexdigest()[:24]
        return self.dir / f"session-{digest}.json"

    def load(self, api_url: str, app_id: str) -> dict | None:
        """The cached session, or None if there is none or it is damaged in any way."""
        from cart_cli.core import wirejson

        try:
            data = wirejson.loads(self.path(api_url, app_id).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        token, expires = data.get("access_token"), data.get("expires")
        if not (isinstance(token, str) and usable_token(token)):
            return None
        if isinstance(expires, bool) or not isinstance(expires, (int, float)):
            return None
        if not isinstance(data.get("device_id"), (str, type(None))):
            data["device_id"] = None
        if isinstance(data.get("obtained"), bool) or not isinstance(
            data.get("obtained"), (int, float, type(None))
        ):
            data["obtained"] = None
        return data

    def drop(self, api_url: str, app_id: str) -> None:
        """Forget the token (a renewal was refused): the next session is a new device."""
        with contextlib.suppress(OSError):  # best effort, like save
            self.path(api_url, app_id).unlink()

    def save(self, api_url: str, app_id: str, session: dict) -> None:
        """Best effort: a cache that can't be written only costs a new session next time."""
        record = {
            "api_url": api_url,
            "app_id": app_id,
            "access_token": session["access_token"],
            "expires": session["expires"],
            "device_id": session.get("device_id"),
            "obtained": session.get("obtained"),
        }
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.dir, 0o700)
            atomic_write(self.path(api_url, app_id), json.dumps(record).encode(), mode=0o600)
        except OSError:
            pass


def usable_token(token: str) -> bool:
    """A token that can go back in a header as given: printable ASCII, no spaces, <= 16 KiB."""
    return 0 < len(token) <= 16384 and token.isascii() and token.isprintable() and " " not in token
