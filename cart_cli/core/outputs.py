"""Output paths (reports, receipts, exports): a shell redirect, done safely.

One helper for every file cart-cli is told to write:

- a regular file, or a new one, is written atomically (a temporary file renamed over it), mode
  0600 (it holds addresses); in a folder cart-cli may not write, an existing file it may write is
  rewritten in place instead, as a shell would;
- a symbolic link is followed and its target written: the link stays a link;
- ``-`` is standard output;
- a FIFO or a character device (``/dev/null``, ``/dev/stderr``, a terminal) is opened and written
  in place, and a Unix socket is connected to: never replaced, never chmod-ed;
- a folder, a block device, or a path whose folder is missing is refused.

``plan`` says which, and refuses what could not be written, before anything is sent; ``write``
does it at the end. Reads no process globals: standard output is handed in."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import IO

from cart_cli.core.errors import UsageError
from cart_cli.core.files import NOCTTY, atomic_write

STDOUT = "-"
MODE = 0o600


class Kind(str, Enum):
    STDOUT = "standard output"
    FILE = "file"  # regular or new: replaced atomically
    IN_PLACE = "file, rewritten in place"  # regular, in a folder we may not write
    SPECIAL = "special file"  # FIFO or character device: opened and written in place
    SOCKET = "socket"


@dataclass(frozen=True)
class Output:
    flag: str  # "--jsonl": for messages
    path: str  # as given
    kind: Kind
    real: str | None = None  # resolved through links (None for standard output)

    def __str__(self) -> str:
        return self.path

    @property
    def is_stdout(self) -> bool:
        return self.kind is Kind.STDOUT


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # nothing there (its folder is a file)
        return None


def plan(
    flag: str, path: str | os.PathLike, *, stdout_stat: os.stat_result | None = None
) -> Output:
    """What writing ``path`` will do; ``UsageError`` now if it could not be done at the end.

    ``stdout_stat``: standard output's status; a path that is standard output itself (say
    ``/dev/stdout`` on a pipe or a terminal) counts as ``-``."""
    given = os.fspath(path)
    if given == STDOUT:
        return Output(flag, given, Kind.STDOUT)
    if not given:
        raise UsageError(f"{flag}: give a file name (or - for standard output)")
    real = os.path.realpath(given)

    def refuse(why: str) -> UsageError:
        return UsageError(f"cannot write {flag} {given}: {why}")

    try:
        # The path itself, links followed by the system: /dev/stdout is /proc/self/fd/1, whose
        # "target" (pipe:[123]) is no path at all.
        st = _stat(given)
    except OSError as e:
        raise refuse(e.strerror or str(e)) from None
    if st is None:
        folder = os.path.dirname(real) or "."
        if not os.path.isdir(folder):
            what = "not a folder" if os.path.exists(folder) else "no such folder"
            raise refuse(f"{what}: {folder}")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise refuse(f"permission denied in the folder {folder}")
        return Output(flag, given, Kind.FILE, real)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise refuse("it is a folder")
    if stdout_stat is not None and _identity(st) == _identity(stdout_stat):
        if stat.S_ISREG(mode):  # `> FILE` and --flag FILE: one would overwrite the other
            raise UsageError(
                f"standard output is redirected to {flag} {given}: give it another file"
            )
        return Output(flag, given, Kind.STDOUT)
    if stat.S_ISREG(mode):
        if not os.access(real, os.W_OK):
            raise refuse("permission denied (the file is read-only)")
        folder = os.path.dirname(real) or "."
        if os.access(folder, os.W_OK | os.X_OK):
            return Output(flag, given, Kind.FILE, real)
        return Output(flag, given, Kind.IN_PLACE, real)
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        if not os.access(given, os.W_OK):
            raise refuse("permission denied")
        return Output(flag, given, Kind.SPECIAL, real)
    if stat.S_ISSOCK(mode):
        return Output(flag, given, Kind.SOCKET, real)
    raise refuse("it is a block device or another kind of file cart-cli does not write")


def plan_all(
    paths: Mapping[str, str | os.PathLike | None],
    *,
    ledger: str | os.PathLike | None = None,
    inputs: Iterable[str | os.PathLike] = (),
    stdout_stat: os.stat_result | None = None,
) -> dict[str, Output]:
    """Plan every output of one run (flag -> path; None: not asked for), and check that they do
    not collide: at most one of them on standard output, and none of them the same file as the
    ledger, an input or another output (compared as resolved paths and as inodes, so a symbolic
    or hard link does not hide it). Special files (``/dev/null``) may be shared by outputs."""
    planned = {
        flag: plan(flag, p, stdout_stat=stdout_stat) for flag, p in paths.items() if p is not None
    }
    on_stdout = [o for o in planned.values() if o.is_stdout]
    if len(on_stdout) > 1:
        a, b = on_stdout[:2]
        raise UsageError(
            f"{a.flag} {a.path} and {b.flag} {b.path} both write to standard output: "
            "give one of them a file"
        )
    seen: list[tuple[str, str, tuple[int, int] | None]] = []  # (what, real path, inode)

    def claim(what: str, path: str | os.PathLike, exclusive: bool = True) -> None:
        real = os.path.realpath(path)
        try:
            st = _stat(os.fspath(path))
        except OSError:
            st = None
        ident = _identity(st) if st is not None else None
        if st is not None and not stat.S_ISREG(st.st_mode) and not exclusive:
            return
        for other, other_real, other_ident in seen:
            if real == other_real or (ident is not None and ident == other_ident):
                raise UsageError(
                    f"{what} and {other} are the same file ({path}): give each its own file"
                )
        seen.append((what, real, ident))

    for p in inputs:
        claim("an order file", p)
    if ledger is not None:
        claim("--ledger", ledger)
        st = _stat(os.fspath(ledger))
        if st is not None and stdout_stat is not None and _identity(st) == _identity(stdout_stat):
            raise UsageError(
                f"standard output is redirected to --ledger {ledger}: give it another file"
            )
    for o in planned.values():
        if not o.is_stdout:
            claim(o.flag, o.path, exclusive=o.kind in (Kind.FILE, Kind.IN_PLACE))
    return planned


def _chunks(data: bytes | Iterable[bytes]) -> Iterable[bytes]:
    return (data,) if isinstance(data, (bytes, bytearray)) else data


def _write_all(fd: int, data: bytes | Iterable[bytes]) -> None:
    for chunk in _chunks(data):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


def write(
    out: Output, data: bytes | Iterable[bytes], *, stdout: IO | None = None, mode: int = MODE
) -> None:
    """Write ``data`` (bytes, or chunks of them as they come) where ``out`` says. Raises OSError
    when it cannot; a path that is not a regular file is never replaced or chmod-ed (what it is
    is looked at again now, not trusted from ``plan``). ``mode``: a new or replaced file's
    (0600 unless the data is for others to read, like monitor's metrics)."""
    if out.is_stdout:
        if stdout is None:
            raise OSError(errno.EBADF, "no standard output")
        binary = getattr(stdout, "buffer", None)
        if binary is not None:
            stdout.flush()
        for chunk in _chunks(data):
            if binary is not None:
                binary.write(chunk)
            else:
                stdout.write(bytes(chunk).decode("utf-8", "replace"))
        (binary or stdout).flush()
        return
    st = _stat(out.path)  # links followed by the system (/dev/stdout: the pipe itself)
    real = os.path.realpath(out.path)
    if st is None or stat.S_ISREG(st.st_mode):
        folder = os.path.dirname(real) or "."
        if st is None or os.access(folder, os.W_OK | os.X_OK):
            atomic_write(real, data, mode=mode)
            return
        fd = os.open(real, os.O_WRONLY | os.O_TRUNC | NOCTTY | getattr(os, "O_NOFOLLOW", 0))
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        # No O_CREAT, no O_TRUNC: a device or a pipe is written as it is.
        fd = os.open(out.path, os.O_WRONLY | NOCTTY)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        return
    if stat.S_ISSOCK(st.st_mode):
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(out.path)
            for chunk in _chunks(data):
                sock.sendall(chunk)
        return
    raise OSError(errno.EINVAL, f"{out.path} is not a file cart-cli writes")
