"""Writing files so that a reader (or a crash) never sees half of one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

NOCTTY = getattr(os, "O_NOCTTY", 0)  # a terminal opened never becomes ours (POSIX)


def fsync_dir(folder: Path) -> None:
    """Make a file's creation or renaming in ``folder`` survive a crash (best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | Iterable[bytes], mode: int) -> None:
    """Replace ``path`` with ``data`` (bytes, or chunks of them written as they come) in one
    step, with file mode ``mode``; on disk when it returns.

    A symbolic link is followed (its target is replaced, the link stays); a path that exists
    and is not a regular file (a device, a FIFO, a folder) is never replaced: OSError."""
    path = Path(os.path.realpath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file, not replaced: {path}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            for chunk in (data,) if isinstance(data, bytes) else data:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def open_append(path: str | os.PathLike, mode: int = 0o600, *, read: bool = False) -> int:
    """A descriptor appending to ``path`` (created with ``mode`` if new; a link followed), but
    only if it is a regular file: a device, a FIFO or a socket is never written, chmod-ed or
    waited on (OSError). ``read``: open it for reading too."""
    flags = (os.O_RDWR if read else os.O_WRONLY) | os.O_CREAT | os.O_APPEND | NOCTTY
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), mode)  # a FIFO: no wait
    except OSError as e:
        if e.errno == errno.ENXIO:  # a FIFO nobody reads (or a socket)
            raise OSError(errno.EINVAL, "not a regular file", str(path)) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike) -> bytes:
    """The whole of a file cart-cli keeps (the ledger, the history, the config), if it is a
    regular file (a link followed): a FIFO or a device is never read or waited on (OSError).
    FileNotFoundError when there is none."""
    fd = os.open(path, os.O_RDONLY | NOCTTY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def parse_json_line(raw: bytes) -> tuple[object, str | None]:
    """One line of a JSON Lines file (the ledger, the history): (value, None), or (None, what is
    wrong with it). Never raises: not UTF-8, not JSON and nested too deeply are all said."""
    import json

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not JSON (a torn line, or not written by cart-cli)"
