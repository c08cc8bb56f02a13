"""``iclab review OUT``: a local web page to score rubric items, one learner at a time.

The standard library's threading HTTP server, bound to 127.0.0.1 only. Every
request must carry the random token printed in the URL (``?t=...``) or it is
refused (403), and its Host header must name this server, so neither another
local user's browser tab nor a web page using DNS rebinding can read answers
or write scores. Answers are hostile input: the page builds its DOM with
``textContent`` only, and a Content-Security-Policy allows nothing but this
server's own script and style.

Scores and comments go to ``OUT/reviews.jsonl`` the moment they are entered
(journal.py: appended, fsynced), so they survive a crash or a restart; a
background thread then rebuilds the gradebook (``gradebook.build``: all
outputs, all or nothing) a moment after the last change, and once more on
the way out if anything changed since.

JSON API (all under ``?t=TOKEN``)::

    GET  /api/cohort              learners in anonymous order, progress, who reviews
    GET  /api/learner/N           learner N: answers beside the rubric, automatic results and evidence
    POST /api/review              {"learner": N, "lab", "item", "level": 0-4 | null, "comment"}
    POST /api/reveal              show names (only once every learner is reviewed)
    GET  /api/state               progress and the gradebook's last rebuild
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..errors import IclabError, UsageError
from ..results import ReviewedItem
from .cohort import Cohort, Learner, load_cohort
from .journal import FILE_NAME, Entry, ReviewJournal, problem
from .page import CSS, HTML, SCRIPT
from .scores import ReviewBook

__all__ = ["HOST", "ReviewServer"]

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class _Rebuilder(threading.Thread):
    """Rebuilds the gradebook a moment after the last score, never two builds at once."""

    def __init__(self, out: Path, delay: float):
        super().__init__(name="review-rebuild", daemon=True)
        self.out, self.delay = out, delay
        self._wake = threading.Condition()
        self._changed_at: float | None = None
        self._stopping = False
        self.built_at = ""
        self.error = ""
        self.builds = 0

    def changed(self) -> None:
        with self._wake:
            self._changed_at = time.monotonic()
            self._wake.notify()

    @property
    def pending(self) -> bool:
        with self._wake:
            return self._changed_at is not None

    def run(self) -> None:
        while True:
            with self._wake:
                while self._changed_at is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                left = self._changed_at + self.delay - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                self._changed_at = None
            self.build()

    def build(self) -> None:
        from .. import gradebook

        try:
            gradebook.build(self.out, [self.out / "journal.jsonl"])
            self.built_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
            self.error = ""
            self.builds += 1
        except IclabError as exc:  # a full disk: the reviews are safe in the journal, say so on the page
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 (our bug; the thread must live on and the page must say it)
            self.error = f"internal error (our bug, please report it): {type(exc).__name__}: {exc}"

    def stop(self) -> None:
        """Stop the thread, then build once more if a change is still waiting."""
        with self._wake:
            self._stopping = True
            waiting = self._changed_at is not None
            self._changed_at = None
            self._wake.notify()
        if self.is_alive():
            self.join()
        if waiting:
            self.build()


class ReviewServer:
    """The review page over one batch output, on 127.0.0.1 and an ephemeral (or given) port."""

    def __init__(self, out: Path, *, reviewer: str, show_names: bool = False, port: int = 0,
                 rebuild_delay: float = 1.0, title: str = ""):
        self.out = Path(out)
        if not (self.out / "gradebook.duckdb").is_file():
            raise UsageError(f"{out}: no gradebook.duckdb here; run `iclab batch` (or `iclab merge`) first")
        problem_ = problem("-", "-", "-", None, "", reviewer)
        if problem_:
            raise UsageError(f"--reviewer: {problem_.replace('reviewer ', '', 1)}")
        self.cohort: Cohort = load_cohort(self.out)
        if not self.cohort.learners:
            raise UsageError(f"{out}: nothing to review: no graded lab here has rubric items (labs declare them in "
                             "lab.toml, [[rubric]]; gradings made before a lab had them carry none: grade again)")
        self.reviewer = reviewer
        self.show_names = show_names
        self.revealed = False
        self.title = title or f"Review: {self.out.resolve().name}"
        self.token = secrets.token_urlsafe(24)
        self.book = ReviewBook.load(self.out)
        self.journal = ReviewJournal(self.out / FILE_NAME)
        self.lock = threading.Lock()
        self.rebuilder = _Rebuilder(self.out, rebuild_delay)
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), _handler(self))
        except OSError as exc:
            self.journal.close()
            raise UsageError(f"cannot listen on {HOST}:{port}: {(exc.strerror or str(exc)).lower()} "
                             "(choose another --port, or 0 for any free one)") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?t={self.token}"

    def start(self) -> "ReviewServer":
        """Serve in a background thread (tests, and anything embedding the page)."""
        self.rebuilder.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="review-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until Ctrl+C (``iclab review``); ``stop`` must follow."""
        self.rebuilder.start()
        self.httpd.serve_forever(poll_interval=0.25)

    def stop(self) -> None:
        """Stop serving, write the gradebook if scores changed since its last build, close the journal."""
        if self._thread:  # serving in a thread; in the foreground, Ctrl+C already ended serve_forever
            self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join()
        self.rebuilder.stop()
        self.journal.close()

    # ------------------------------------------------------------------ what the API answers

    def names_visible(self) -> bool:
        return self.show_names or self.revealed

    def cohort_doc(self) -> dict:
        with self.lock:
            done, total = self.cohort.progress(self.book)
            learners = [{"number": x.number, "label": x.label, "reviewed": self.cohort.reviewed(self.book, x),
                         **({"name": x.name} if self.names_visible() else {})} for x in self.cohort.learners]
        return {"title": self.title, "reviewer": self.reviewer, "anonymous": not self.names_visible(),
                "can_reveal": not self.names_visible() and done == total, "progress": {"done": done, "total": total},
                "learners": learners}

    def learner(self, number: int) -> Learner | None:
        if 1 <= number <= len(self.cohort.learners):
            return self.cohort.learners[number - 1]
        return None

    def learner_doc(self, learner: Learner) -> dict:
        shown = self.names_visible()
        text = (lambda s: s) if shown else (lambda s: self.cohort.scrub(learner, s))
        with self.lock:
            standing = self.cohort.standing(self.book, learner)
            mine = {key[1:]: per.get(self.reviewer) for key, per in self.book.own.items() if key[0] == learner.name}
            reviewed = self.cohort.reviewed(self.book, learner)
        labs = []
        for unit, items in zip(learner.units, standing):
            r = unit.result
            labs.append({
                "lab": r.lab, "title": r.title, "status": r.status.value, "score": r.score, "max_score": r.max_score,
                "percent": r.percent, "problems": [text(p) for p in r.problems],
                "checks": [{"id": c.id, "title": c.title, "status": c.status.value, "points": c.points,
                            "max_points": c.max_points, "criterion": c.criterion, "dimension": c.dimension.value,
                            "reason": text(c.reason), "evidence": text(c.evidence)} for c in r.checks],
                "items": [self._item_doc(item, answer, standing_, mine.get((r.lab, item.id)), text)
                          for (item, answer), standing_ in zip(unit.items, items)],
            })
        return {"number": learner.number, "label": learner.label, "reviewed": reviewed,
                **({"name": learner.name} if shown else {}), "labs": labs}

    @staticmethod
    def _item_doc(item, answer, standing: ReviewedItem, mine: Entry | None, text) -> dict:
        return {
            "id": item.id, "title": item.title, "prompt": item.prompt, "where": item.where, "points": item.points,
            "dimension": item.dimension.value, "criterion": item.criterion, "levels": list(item.levels),
            "answer": {"text": text(answer.text), "answered": answer.answered, "note": text(answer.note)},
            "mine": {"level": mine.level if mine else None, "comment": mine.comment if mine else "",
                     "at": mine.at if mine else ""},
            "standing": {"status": standing.status.value, "level": standing.level, "points": standing.points,
                         "levels": [{"reviewer": who, "level": lvl} for who, lvl in standing.levels],
                         "settled_by": standing.settled_by, "comment": standing.comment},
        }

    def record(self, body: dict) -> tuple[int, dict]:
        """Save one level or comment; (HTTP status, answer)."""
        if not isinstance(body, dict):
            return 400, {"error": "expected a JSON object"}
        number = body.get("learner")
        learner = self.learner(number) if type(number) is int else None
        if learner is None:
            return 404, {"error": "no such learner"}
        lab, item_id = body.get("lab"), body.get("item")
        unit = next((u for u in learner.units if u.result.lab == lab), None)
        item = next((i for i, _ in unit.items if i.id == item_id), None) if unit else None
        if item is None:
            return 404, {"error": "no such rubric item for this learner"}
        if unit.refused:
            return 409, {"error": "this lab was refused: its rubric items score 0 and are not reviewed"}
        level, comment = body.get("level"), body.get("comment", "")
        why = problem(learner.name, lab, item_id, level, comment, self.reviewer)
        if why:
            return 400, {"error": why}
        with self.lock:
            entry = self.journal.append(Entry(learner.name, lab, item_id, level, comment, self.reviewer))
            self.book.add_own(entry)
        self.rebuilder.changed()
        doc = self.learner_doc(learner)
        cohort = self.cohort_doc()
        return 200, {"saved": entry.at, "learner": doc, "progress": cohort["progress"],
                     "can_reveal": cohort["can_reveal"]}

    def reveal(self) -> tuple[int, dict]:
        with self.lock:
            done, total = self.cohort.progress(self.book)
            if done < total:
                return 409, {"error": f"names are shown once every learner is reviewed ({done} of {total} so far)"}
            self.revealed = True
        return 200, self.cohort_doc()

    def state_doc(self) -> dict:
        with self.lock:
            done, total = self.cohort.progress(self.book)
        return {"progress": {"done": done, "total": total}, "gradebook": {
            "built_at": self.rebuilder.built_at, "pending": self.rebuilder.pending, "error": self.rebuilder.error}}


def _handler(app: ReviewServer):
    """The request handler class bound to ``app`` (its port is read per request: known once bound)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "iclab-review"
        sys_version = ""

        def log_message(self, format, *args) -> None:  # noqa: A002 (the stdlib's name)
            pass  # the URL carries the token: it is never written to a log

        # -------------------------------------------------------------- guards

        def _refuse(self) -> bool:
            """Answer 403 unless the request names this server and carries the token."""
            hosts = {f"{HOST}:{app.port}", f"localhost:{app.port}"}
            token = parse_qs(urlsplit(self.path).query).get("t", [""])[0]
            if self.headers.get("Host", "") not in hosts or not hmac.compare_digest(token.encode(), app.token.encode()):
                self._send(403, b"forbidden: open the exact URL `iclab review` printed\n", "text/plain; charset=utf-8")
                return True
            return False

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, doc) -> None:
            self._send(status, json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

        # -------------------------------------------------------------- routes

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            if self._refuse():
                return
            path = urlsplit(self.path).path
            if path == "/":
                page = HTML.replace("{{token}}", app.token).replace("{{title}}", _escape(app.title))
                self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")
            elif path == "/review.js":
                self._send(200, SCRIPT.encode("utf-8"), "text/javascript; charset=utf-8")
            elif path == "/review.css":
                self._send(200, CSS.encode("utf-8"), "text/css; charset=utf-8")
            elif path == "/api/cohort":
                self._json(200, app.cohort_doc())
            elif path == "/api/state":
                self._json(200, app.state_doc())
            elif path.startswith("/api/learner/") and path.rsplit("/", 1)[1].isdigit():
                learner = app.learner(int(path.rsplit("/", 1)[1]))
                if learner is None:
                    self._json(404, {"error": "no such learner"})
                else:
                    self._json(200, app.learner_doc(learner))
            else:
                self._json(404, {"error": "not found"})

        do_HEAD = do_GET

        def do_POST(self) -> None:  # noqa: N802
            if self._refuse():
                return
            origin = self.headers.get("Origin")
            if origin is not None and origin not in (f"http://{HOST}:{app.port}", f"http://localhost:{app.port}"):
                self._json(403, {"error": "forbidden origin"})
                return
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                self._json(415, {"error": "send application/json"})
                return
            try:
                length = int(self.headers.get("Content-Length", "-1"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._json(413, {"error": f"a request body is at most {MAX_BODY} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                self._json(400, {"error": "not JSON"})
                return
            path = urlsplit(self.path).path
            try:
                if path == "/api/review":
                    self._json(*app.record(body))
                elif path == "/api/reveal":
                    self._json(*app.reveal())
                else:
                    self._json(404, {"error": "not found"})
            except IclabError as exc:  # the journal cannot be written (a full disk): the page must say so
                self._json(507, {"error": str(exc)})

    return Handler


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
