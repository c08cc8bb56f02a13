"""The request journal: server-side evidence of what a client actually did.

Graders judge behaviour (honoured Retry-After? same Idempotency-Key on the
retry? set a timeout?) from this journal, which lives in the grader's process
and which a submission cannot write to. Entries are frozen; ``entries()``
returns a snapshot. Raw values are kept for the graders; ``render()`` and
``as_dicts()`` mask secrets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .masking import mask_header, mask_pii, mask_text
from .messages import Headers, Request, Response, header_value

__all__ = ["Delivery", "Journal", "JournalEntry", "RecordedResponse"]


class Delivery(StrEnum):
    """What became of a response after the handler produced it."""

    PENDING = "pending"  # handled directly; no transport has reported yet
    WRITTEN = "written"  # the transport wrote the response
    DROPPED = "dropped"  # the server closed the connection on purpose, after committing
    CLIENT_GONE = "client_gone"  # the client hung up before the response was written


@dataclass(frozen=True)
class RecordedResponse:
    """The response the mock gave, and how its delivery went."""

    status: int
    headers: Headers
    body: bytes
    faults: tuple[str, ...] = ()
    stall: float = 0.0  # virtual seconds the response was scheduled to be held
    delivery: Delivery = Delivery.PENDING
    waited: float = 0.0  # virtual seconds held before writing, or before the client left

    def header(self, name: str) -> str | None:
        """Return the first value of a response header, or None."""
        return header_value(self.headers, name)


@dataclass(frozen=True)
class JournalEntry:
    """One request the mock received (admin requests excluded), with its response."""

    seq: int
    at: float  # virtual epoch seconds when the request arrived
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Headers
    body: bytes
    route: str | None  # "GET /v1/accounts/{id}", or None when nothing matched
    response: RecordedResponse

    def header(self, name: str) -> str | None:
        """Return the first value of a request header, or None."""
        return header_value(self.headers, name)

    @property
    def status(self) -> int:
        """Return the response status (shorthand for graders)."""
        return self.response.status

    @property
    def client_gone(self) -> bool:
        """Tell whether the client went away before the response was written."""
        return self.response.delivery is Delivery.CLIENT_GONE

    @property
    def target(self) -> str:
        """Return path plus query string."""
        return Request(self.method, self.path, self.query).target

    def as_dict(self, pii: bool = False) -> dict[str, Any]:
        """Return a JSON-ready view with secrets masked (and PII masked unless ``pii``)."""
        clean = mask_text if pii else (lambda text: mask_pii(mask_text(text)))
        resp = self.response
        return {
            "seq": self.seq,
            "at": self.at,
            "time": _iso(self.at),
            "method": self.method,
            "path": self.path,
            "query": [[k, clean(f"{k}={v}").partition("=")[2]] for k, v in self.query],
            "headers": [[k, mask_header(k, v)] for k, v in self.headers],
            "body": clean(self.body.decode("utf-8", "replace")),
            "route": self.route,
            "response": {
                "status": resp.status,
                "headers": [[k, mask_header(k, v)] for k, v in resp.headers],
                "body": clean(resp.body.decode("utf-8", "replace")),
                "faults": list(resp.faults),
                "stall": resp.stall,
                "delivery": resp.delivery.value,
                "waited": resp.waited,
            },
        }


class Journal:
    """A thread-safe, append-only record of requests, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, JournalEntry] = {}
        # Never reset: a request in flight across reset() must not collide.
        self._next_seq = 1

    def reserve(self) -> int:
        """Take the next sequence number, at the moment a request arrives."""
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            return seq

    def record(self, seq: int, at: float, request: Request, route: str | None, response: Response) -> JournalEntry:
        """Store the entry for request ``seq`` and the response it got."""
        delivery = Delivery.DROPPED if response.drop else Delivery.PENDING
        entry = JournalEntry(
            seq=seq,
            at=at,
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
            route=route,
            response=RecordedResponse(
                status=response.status,
                headers=response.headers,
                body=response.body,
                faults=response.faults,
                stall=response.stall,
                delivery=delivery,
            ),
        )
        with self._lock:
            self._entries[seq] = entry
        return entry

    def settle(self, seq: int, delivery: Delivery, waited: float) -> JournalEntry | None:
        """Record how delivery of entry ``seq`` went (None if it was cleared meanwhile)."""
        with self._lock:
            entry = self._entries.get(seq)
            if entry is None:
                return None
            if entry.response.delivery is Delivery.DROPPED:
                delivery = Delivery.DROPPED  # the drop was the server's decision; keep it
            settled = replace(entry, response=replace(entry.response, delivery=delivery, waited=waited))
            self._entries[seq] = settled
            return settled

    def entries(self) -> tuple[JournalEntry, ...]:
        """Return a snapshot of every entry, ordered by arrival."""
        with self._lock:
            return tuple(self._entries[seq] for seq in sorted(self._entries))

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def as_dicts(self) -> list[dict[str, Any]]:
        """Return every entry as a masked, JSON-ready dict."""
        return [entry.as_dict() for entry in self.entries()]

    def render(self, entries: tuple[JournalEntry, ...] | None = None, headers: bool = True, bodies: bool = True) -> str:
        """Render entries as text for people, with secrets and PII masked."""
        lines: list[str] = []
        for entry in self.entries() if entries is None else entries:
            lines.extend(_render_entry(entry, headers, bodies))
        return "\n".join(lines)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _render_entry(entry: JournalEntry, headers: bool, bodies: bool) -> list[str]:
    resp = entry.response
    faults = f"  [{', '.join(resp.faults)}]" if resp.faults else ""
    target = mask_text(entry.target)
    lines = [f"#{entry.seq} {_iso(entry.at)} {entry.method} {target} -> {resp.status}{faults}"]
    if resp.delivery is Delivery.DROPPED:
        lines.append("    connection dropped by the server after the write was committed")
    elif resp.delivery is Delivery.CLIENT_GONE:
        lines.append(f"    client went away after {resp.waited:.3f}s (virtual); response never written")
    elif resp.stall:
        lines.append(f"    response held {resp.waited:.3f}s (virtual)")
    if headers:
        lines.extend(f"    > {k}: {mask_header(k, v)}" for k, v in entry.headers)
    if bodies and entry.body:
        lines.append("    > " + _short(mask_pii(mask_text(entry.body.decode("utf-8", "replace")))))
    if headers:
        lines.extend(f"    < {k}: {mask_header(k, v)}" for k, v in resp.headers)
    if bodies and resp.body:
        lines.append("    < " + _short(mask_pii(mask_text(resp.body.decode("utf-8", "replace")))))
    return lines


def _short(text: str, limit: int = 240) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
