"""`iclab review`'s server: local only, token required, names hidden, scores durable, the gradebook updated."""
from __future__ import annotations

import http.client
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from graders.errors import UsageError
from graders.review.journal import FILE_NAME, read_reviews
from graders.review.server import ReviewServer

ROOT = Path(__file__).resolve().parents[3]
NAMES = ("ana", "bob", "cy", "dee")


def _request(server_or_url, method="GET", path="/", *, token=True, body=None, headers=None):
    if isinstance(server_or_url, ReviewServer):
        port, secret = server_or_url.port, server_or_url.token
    else:
        parts = urlsplit(server_or_url)
        port, secret = parts.port, parts.query.split("t=", 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sep = "&" if "?" in path else "?"
    target = f"{path}{sep}t={secret}" if token is True else (f"{path}{sep}t={token}" if token else path)
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    conn.request(method, target, body=data, headers=all_headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    kind = response.getheader("Content-Type", "")
    return response.status, (json.loads(payload) if kind.startswith("application/json") else payload.decode()), response


@pytest.fixture
def server(review_out):
    app = ReviewServer(review_out, reviewer="alice", rebuild_delay=0.2).start()
    try:
        yield app
    finally:
        app.stop()


def _poll(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _review_row(out: Path, learner: str, item: str):
    def read():
        try:
            con = duckdb.connect(str(out / "gradebook.duckdb"), read_only=True)
        except duckdb.Error:
            return None  # being replaced this instant
        try:
            return con.execute("SELECT status, level, points, comment FROM review_results WHERE learner = ? "
                               "AND item_id = ?", [learner, item]).fetchone()
        finally:
            con.close()
    return read


def test_only_this_machine_and_only_with_the_token(server):
    assert server.httpd.server_address[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/?t=") and len(server.token) >= 32
    status, body, _ = _request(server, token=None)
    assert status == 403 and "forbidden" in body
    assert _request(server, token="wrong")[0] == 403
    assert _request(server, path="/api/cohort", token=None)[0] == 403
    assert _request(server, "POST", "/api/review", token=None, body={"learner": 1})[0] == 403
    # DNS rebinding: a page on another site whose name resolves to 127.0.0.1 sends its own Host.
    assert _request(server, headers={"Host": f"evil.example:{server.port}"})[0] == 403
    status, page, response = _request(server)
    assert status == 200 and "<title>Review:" in page
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert response.getheader("Referrer-Policy") == "no-referrer" and response.getheader("Cache-Control") == "no-store"
    assert _request(server, "POST", "/api/review", body={"learner": 1}, headers={"Origin": "http://evil.example"})[0] == 403


def test_names_stay_hidden_until_every_learner_is_reviewed(server):
    status, cohort, _ = _request(server, path="/api/cohort")
    assert status == 200 and cohort["anonymous"] and cohort["progress"] == {"done": 0, "total": 4}
    assert [x["label"] for x in cohort["learners"]] == ["Learner 1", "Learner 2", "Learner 3", "Learner 4"]
    texts = [json.dumps(cohort)] + [json.dumps(_request(server, path=f"/api/learner/{n}")[1]) for n in range(1, 5)]
    for text in texts:
        for name in NAMES:
            assert not re.search(rf"\b{name}\b", text, flags=re.I), f"{name} shows while names are hidden"
    ana = next(json.loads(t) for t in texts[1:] if "Idempotency-Key" in t)
    assert ana["labs"][0]["items"][0]["answer"]["text"].startswith(f"I, {ana['label']}, would send")
    assert _request(server, "POST", "/api/reveal", body={})[0] == 409


def test_a_score_is_saved_as_entered_and_survives_a_restart(review_out):
    app = ReviewServer(review_out, reviewer="alice", rebuild_delay=0.2).start()
    try:
        learner = _request(app, path="/api/learner/1")[1]
        unit = learner["labs"][0]
        item = unit["items"][0]
        status, saved, _ = _request(app, "POST", "/api/review", body={
            "learner": 1, "lab": unit["lab"], "item": item["id"], "level": 3, "comment": "<b>fits</b> the case"})
        assert status == 200 and saved["learner"]["labs"][0]["items"][0]["mine"]["level"] == 3
        entries = list(read_reviews(review_out / FILE_NAME))
        assert [(e.level, e.comment, e.reviewer) for e in entries] == [(3, "<b>fits</b> the case", "alice")]
        name = entries[0].learner
        row = _poll(lambda: (r := _review_row(review_out, name, item["id"])()) and r[0] == "reviewed" and r,
                    "the gradebook to show the score")
        assert row[1] == 3 and row[2] == item["points"] * 3 / 4 and row[3] == "alice: <b>fits</b> the case"
    finally:
        app.stop()
    again = ReviewServer(review_out, reviewer="alice").start()
    try:
        kept = _request(again, path="/api/learner/1")[1]["labs"][0]["items"][0]
        assert (kept["mine"]["level"], kept["mine"]["comment"], kept["standing"]["status"]) == (3, "<b>fits</b> the case",
                                                                                              "reviewed")
    finally:
        again.stop()


def test_stopping_writes_the_gradebook_when_a_score_is_still_waiting(review_out):
    app = ReviewServer(review_out, reviewer="alice", rebuild_delay=3600).start()
    try:
        unit = _request(app, path="/api/learner/2")[1]["labs"][0]
        assert _request(app, "POST", "/api/review", body={"learner": 2, "lab": unit["lab"],
                                                          "item": unit["items"][1]["id"], "level": 2})[0] == 200
        name = next(read_reviews(review_out / FILE_NAME)).learner
        assert _review_row(review_out, name, unit["items"][1]["id"])()[0] == "unreviewed"  # not rebuilt yet
    finally:
        app.stop()
    assert _review_row(review_out, name, unit["items"][1]["id"])()[:2] == ("reviewed", 2)


@pytest.mark.parametrize("body, status", [
    ({"learner": 1, "lab": "map-customer", "item": "idempotent-creates", "level": 5}, 400),
    ({"learner": 1, "lab": "map-customer", "item": "idempotent-creates", "level": True}, 400),
    ({"learner": 1, "lab": "map-customer", "item": "idempotent-creates", "level": 1, "comment": "x" * 5000}, 400),
    ({"learner": 99, "lab": "map-customer", "item": "idempotent-creates", "level": 1}, 404),
    ({"learner": "1", "lab": "map-customer", "item": "idempotent-creates", "level": 1}, 404),
    ({"learner": 1, "lab": "map-customer", "item": "no-such-item", "level": 1}, 404),
    ([1, 2], 400),
])
def test_bad_requests_are_refused_and_write_nothing(server, review_out, body, status):
    learner = _request(server, path="/api/learner/1")[1]
    if isinstance(body, dict) and body.get("lab") == "map-customer":
        body["lab"] = learner["labs"][0]["lab"]
        if body["item"] == "idempotent-creates":
            body["item"] = learner["labs"][0]["items"][0]["id"]
    assert _request(server, "POST", "/api/review", body=body)[0] == status
    assert not list(read_reviews(review_out / FILE_NAME))


def test_bodies_that_are_not_small_json_are_refused(server):
    assert _request(server, "POST", "/api/review", body=b"level=3",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert _request(server, "POST", "/api/review", body=b"{" + b" " * 70_000 + b"}")[0] == 413
    assert _request(server, "POST", "/api/review", body=b"{nope")[0] == 400


def test_once_everyone_is_reviewed_names_can_be_shown(server):
    for n in range(1, 5):
        for lab in _request(server, path=f"/api/learner/{n}")[1]["labs"]:
            for item in lab["items"]:
                status, doc, _ = _request(server, "POST", "/api/review",
                                          body={"learner": n, "lab": lab["lab"], "item": item["id"], "level": 2})
                assert status == 200
    assert doc["progress"] == {"done": 4, "total": 4} and doc["can_reveal"]
    status, cohort, _ = _request(server, "POST", "/api/reveal", body={})
    assert status == 200 and not cohort["anonymous"]
    assert sorted(x["name"] for x in cohort["learners"]) == list(NAMES)


def test_a_folder_with_nothing_to_review_says_so(tmp_path, review_out):
    with pytest.raises(UsageError, match="no gradebook.duckdb"):
        ReviewServer(tmp_path, reviewer="alice")
    with pytest.raises(UsageError, match="reviewer"):
        ReviewServer(review_out, reviewer="")


def test_a_port_in_use_is_a_usage_error(server, review_out):
    with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        ReviewServer(review_out, reviewer="bob", port=server.port)


def test_the_command_prints_the_url_serves_and_stops_on_ctrl_c(review_out):
    # The output is read from the pipe's descriptor as it comes (a buffered reader would hide a line from select).
    with subprocess.Popen([sys.executable, "-m", "cli", "review", str(review_out), "--reviewer", "alice"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0) as proc:
        try:
            seen = b""
            deadline = time.monotonic() + 60
            while b"\nopen http" not in b"\n" + seen or not seen.endswith(b"\n"):
                left = deadline - time.monotonic()
                assert left > 0, f"no URL printed: {seen!r}, exit {proc.poll()}"
                if select.select([proc.stdout], [], [], min(left, 1.0))[0]:
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    assert chunk, f"the command ended: {seen!r} {proc.stderr.read()!r}"
                    seen += chunk
            text = seen.decode()
            url = re.search(r"^open (http://127\.0\.0\.1:\d+/\?t=\S+)$", text, flags=re.M).group(1)
            assert "reviewing 4 learners" in text and "as alice" in text
            assert _request(url, token=None)[0] == 403
            assert _request(url)[0] == 200
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert b"stopped: 0 of 4 learners reviewed" in out
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_command_refuses_a_gradebook_without_rubric_items(tmp_path):
    (tmp_path / "gradebook.duckdb").write_bytes(b"")
    (tmp_path / "journal.jsonl").write_text("", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "cli", "review", str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "USER": "alice"})
    assert result.returncode == 2 and "nothing to review" in result.stderr
