"""Planning a batch: inputs (files, directories, multi-order files) to jobs, and shards.

A job's identity is where its order is written (the file's resolved real path, the entry's index)
and which repeat it is, plus a hash of the entry as written: before test-card aliases are
expanded or dates computed, without card numbers or CVVs. The same job has the same id from any
folder, however its path is typed, on any day."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_cli.core.errors import OrderInvalid, UsageError
from cart_cli.core.order import Inputs, Order, load_entries
from cart_cli.wire.text import is_digits

CARD_SECRETS = frozenset({"number", "cvv", "verification_value"})


@dataclass
class Source:
    file: str  # as the user typed it (or as found in a directory they typed)
    orders: list[tuple[int, Order]]
    hashes: list[str]  # the content hash of each entry, as written

    @property
    def path(self) -> str:
        return os.path.realpath(self.file)


def expand(paths: Iterable[str]) -> list[Path]:
    """Files from files and directories, each once (`batch orders/ orders/a.yaml` must not place
    a.yaml's orders twice; --repeat is the way to ask for that)."""
    files: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        try:
            if path.is_dir():
                found = sorted(
                    x for x in path.iterdir() if x.suffix in (".yaml", ".yml") and x.is_file()
                )
                if not found:
                    raise UsageError(f"{p}: no *.yaml or *.yml files in this directory")
            else:
                found = [path]
            resolved = [(f, f.resolve()) for f in found]
        except OSError as e:  # an unreadable folder (PermissionError), a loop of links...
            raise UsageError(f"cannot read {p}: {e.strerror or e}") from None
        for f, real in resolved:
            if real not in seen:
                seen.add(real)
                files.append(f)
    return files


def collect(paths: Iterable[str], inputs: Inputs) -> list[Source]:
    """Every order of every input, validated. All problems of all files, or none."""
    sources, problems = [], []
    for path in expand(paths):
        try:
            entries = load_entries(path, inputs=inputs)
        except OrderInvalid as e:
            problems.extend(e.problems)
            continue
        sources.append(
            Source(str(path), [(i, o) for i, o, _ in entries], [entry_hash(r) for *_, r in entries])
        )
    if problems:
        raise OrderInvalid(problems)
    return sources


def _without_card_secrets(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    out = dict(raw)
    card = out.get("card")
    if isinstance(card, dict):
        out["card"] = {k: v for k, v in card.items() if k not in CARD_SECRETS}
    return out


def entry_hash(raw: Any) -> str:
    """A hash of an order entry as written, card number and CVV left out."""
    canonical = json.dumps(
        _without_card_secrets(raw), sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(slots=True)  # a batch keeps one per order: no per-instance dict
class Job:
    file: str  # as typed: for display
    path: str  # resolved real path: for identity
    index: int
    repeat: int
    order: Order
    hash: str
    position: int = 0  # place in the plan (input order)
    id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        key = f"{self.path}\0{self.index}\0{self.repeat}\0{self.hash}"
        self.id = hashlib.sha256(key.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        return f"{self.file}#{self.index}" + (f"@{self.repeat}" if self.repeat else "")

    def source(self) -> dict:
        return {
            "file": self.file,
            "path": self.path,
            "index": self.index,
            "repeat": self.repeat,
            "hash": self.hash,
        }


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    i, sep, n = text.partition("/")
    if not (sep and is_digits(i) and is_digits(n) and 1 <= int(i) <= int(n)):
        raise UsageError(f"--shard {text!r} must be I/N with 1 <= I <= N, e.g. 2/3")
    return int(i), int(n)


def plan(sources: list[Source], repeat: int = 1, shard: tuple[int, int] | None = None) -> list[Job]:
    """Jobs in a stable order; a shard I/N keeps every N-th job starting at the I-th."""
    jobs = []
    for src in sources:
        real = src.path
        for (index, order), h in zip(src.orders, src.hashes, strict=True):
            for r in range(repeat):
                jobs.append(Job(src.file, real, index, r, order, h))
    if shard:
        i, n = shard
        jobs = [j for k, j in enumerate(jobs) if k % n == i - 1]
    for position, job in enumerate(jobs):
        job.position = position
    return jobs
