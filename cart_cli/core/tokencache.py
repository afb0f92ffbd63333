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
        try:
            data = json.loads(self.path(api_url, app_id).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        ok = isinstance(data, dict) and isinstance(data.get("access_token"), str)
        return data if ok and isinstance(data.get("expires"), (int, float)) else None

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
