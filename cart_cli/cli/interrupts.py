"""Ctrl-C and SIGTERM in `batch` (elsewhere they end the run at the boundary in main()).

The handlers only set events; messages are printed by a thread of their own, never from
inside a signal handler (which may interrupt a half-done write to the same stream)."""

from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TwoStageStop:
    """First signal: ``stop`` (launch nothing more, let orders in flight finish). Second:
    ``abandon`` (stop waiting for them). Later ones change nothing."""

    STOPPING = (
        "stopping: no new orders; waiting for the ones in flight (Ctrl-C again to abandon them)"
    )

    def __init__(self, say=None, stopping: str | None = None) -> None:
        self.stopping = stopping or self.STOPPING  # what the first signal is answered with
        self.stop = threading.Event()
        self.abandon = threading.Event()
        self.done = threading.Event()
        self.say = say or (lambda text: None)
        self.saved: dict = {}
        self._announcer: threading.Thread | None = None

    def _handler(self, signum, frame) -> None:
        if self.stop.is_set():
            self.abandon.set()
        self.stop.set()

    def _announce(self) -> None:
        for event, text in (
            (self.stop, self.stopping),
            (self.abandon, "abandoning the orders in flight"),
        ):
            while not (event.is_set() or self.done.is_set()):
                event.wait(0.1)
            if self.done.is_set() and not event.is_set():
                return
            with contextlib.suppress(Exception):  # an unshowable message is not worth a traceback
                self.say(text)

    def __enter__(self) -> TwoStageStop:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self.saved[sig] = signal.signal(sig, self._handler)
        self._announcer = threading.Thread(target=self._announce, daemon=True, name="signals")
        self._announcer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        if self._announcer is not None:
            self._announcer.join(timeout=1)
