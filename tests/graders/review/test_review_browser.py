"""`iclab review` end to end in headless Chromium: open, score three learners with the keyboard, reload, find
the scores kept, and find them in the gradebook. Answers are hostile: nothing in them may run.

Chromium is driven over its DevTools pipe (fds 3 and 4), as tests/graders/test_html_report.py does, and key
presses go through ``Input.dispatchKeyEvent``: the page sees real keyboard events. With
``ICLAB_UPDATE_SCREENSHOTS=1`` the test also writes the README's screenshot, docs/review.png.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from graders.review.journal import FILE_NAME, read_reviews
from graders.review.server import ReviewServer

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
WIDTH, HEIGHT = 1280, 1000
ACCENT = (0x2F, 0x6D, 0xB5)  # a pressed level button (graders/review/page.py, --accent)
KEYS = {"j": ("KeyJ", 74), "k": ("KeyK", 75), "c": ("KeyC", 67), "u": ("KeyU", 85),
        **{str(n): (f"Digit{n}", 48 + n) for n in range(5)}}
ARROWS_AND_ESCAPE = {"Escape": 27, "ArrowUp": 38, "ArrowDown": 40}


class Browser:
    """Headless Chromium over its DevTools pipe: one page, its console, keys and scripts."""

    def __init__(self, binary: str, profile: Path):
        cmd_r, self._w = os.pipe()
        self._r, out_w = os.pipe()
        theirs = (fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(out_w, fcntl.F_DUPFD, 10))
        os.close(cmd_r)
        os.close(out_w)

        def on_fds_3_and_4():
            os.dup2(theirs[0], 3)
            os.dup2(theirs[1], 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             "--font-render-hinting=none", f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4, *theirs), preexec_fn=on_fds_3_and_4, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in theirs:
            os.close(fd)
        self._buf, self._id, self.events = b"", 0, []
        self.session = None

    def send(self, method: str, params: dict | None = None, *, page: bool = True) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if page and self.session:
            message["sessionId"] = self.session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self.events.append(reply)

    def _read(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([self._r], [], [], left)[0], "chromium did not answer"
            chunk = os.read(self._r, 1 << 16)
            assert chunk, "chromium closed its DevTools pipe"
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, page=False)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.send("Runtime.enable")
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait(self, expression: str, what: str, timeout: float = 30.0):
        """Poll a page condition until it holds (never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            select.select([], [], [], 0.05)
        raise AssertionError(f"timed out waiting for {what}: {expression}")

    def press(self, key: str) -> None:
        if key in ARROWS_AND_ESCAPE:
            down = {"key": key, "code": key, "windowsVirtualKeyCode": ARROWS_AND_ESCAPE[key]}
        else:
            code, vk = KEYS[key]
            down = {"key": key, "code": code, "text": key, "windowsVirtualKeyCode": vk}
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", **down})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **{k: v for k, v in down.items() if k != "text"}})

    def reload(self) -> None:
        """Reload the page and wait for the new document's load event (the old one must not answer for it)."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.reload", {"ignoreCache": True})
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._read())

    def type(self, text: str) -> None:
        self.send("Input.insertText", {"text": text})

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def errors(self) -> list[str]:
        return [json.dumps(e["params"])[:300] for e in self.events
                if e.get("method") in ("Runtime.exceptionThrown",)
                or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")]

    def close(self) -> None:
        try:
            self.send("Browser.close", page=False)
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _accent_pixels(data: bytes) -> int:
    """Pixels of the accent colour, counted by decoding the PNG (8-bit RGB/RGBA, any row filter)."""
    import zlib

    width, height = _png_size(data)
    pos, idat, colour = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            colour = body[9]
        elif kind == b"IDAT":
            idat.append(body)
    bpp = 3 if colour == 2 else 4
    stride, raw = width * bpp, zlib.decompress(b"".join(idat))
    prev, count = bytearray(stride), 0
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        count += sum(1 for i in range(0, stride, bpp) if tuple(line[i:i + 3]) == ACCENT)
        prev = line
    return count


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: the Makefile's browser step did not install it")
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); `make test` as root installs it")
    b = Browser(CHROMIUM, tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


def _gradebook_rows(out: Path):
    try:
        con = duckdb.connect(str(out / "gradebook.duckdb"), read_only=True)
    except duckdb.Error:
        return None  # replaced this very instant
    try:
        reviewed = con.execute("SELECT learner, item_id, level, points, comment FROM review_results "
                               "WHERE status = 'reviewed' ORDER BY 1, 2").fetchall()
        totals = dict(con.execute("SELECT learner, total_score FROM learners WHERE total_score IS NOT NULL "
                                  "AND review_status = 'reviewed'").fetchall())
        return reviewed, totals
    finally:
        con.close()


READY = "!!document.body && document.body.dataset.ready === 'true'"
WHO = "document.getElementById('who').dataset.number"
PRESSED = ("[...document.querySelectorAll('article.item')].map(a => "
           "(a.querySelector('button.level[aria-pressed=\"true\"]') || {dataset: {}}).dataset.level ?? null)")
COMMENTS = "[...document.querySelectorAll('article.item textarea')].map(t => t.value)"
CURRENT = "[...document.querySelectorAll('article.item')].findIndex(a => a.classList.contains('current'))"


def _goto(browser: Browser, number: int) -> None:
    """Walk to learner ``number`` with j and k, waiting for each step to show."""
    while (now := int(browser.js(WHO))) != number:
        browser.press("j" if number > now else "k")
        browser.wait(f"{WHO} !== '{now}'", f"the learner after {now}")


def test_score_three_learners_with_the_keyboard_reload_and_find_them_in_the_gradebook(browser, review_out, hostile):
    server = ReviewServer(review_out, reviewer="alice", rebuild_delay=0.3, title="Review: spring cohort").start()
    try:
        browser.open(server.url)
        browser.wait(READY, "the page to load")
        assert browser.js(WHO) == "1"
        assert browser.js("document.getElementById('progress').textContent") == "0 of 4 reviewed"

        # Names are hidden; hostile answers are shown as text and nothing in them runs.
        answers = []
        for number in (1, 2, 3, 4):
            _goto(browser, number)
            text = browser.js("document.body.innerText")
            assert not re.search(r"\b(ana|bob|cy|dee)\b", text, flags=re.I), f"a name shows on learner {number}"
            answers.append(browser.js("[...document.querySelectorAll('pre.answer-text')].map(p => p.textContent).join()"))
        assert sum(hostile in a for a in answers) == 1, "the hostile answer was not shown as text"
        assert browser.js("window.__pwned === undefined && document.querySelectorAll('main img, main script').length === 0")
        _goto(browser, 1)

        # Score learners 1, 2 and 3: a level for the first item (focus moves on to the second), back up to
        # comment on the first, then a level for the second; j to the next learner.
        plan = {1: ("3", "names the AccountId key", "2"), 2: ("4", "retries and re-runs covered", "1"),
                3: ("0", "no answer written", "0")}
        for number, (first, comment, second) in plan.items():
            browser.wait(f"{WHO} === '{number}' && {CURRENT} === 0", f"learner {number}")
            browser.press(first)
            browser.wait(f"JSON.stringify({PRESSED}) === JSON.stringify(['{first}', null]) && {CURRENT} === 1",
                         f"level {first} on learner {number}'s first item")
            browser.press("ArrowUp")
            browser.wait(f"{CURRENT} === 0", "the first item again")
            browser.press("c")
            browser.wait("document.activeElement.classList.contains('comment')", "the comment box")
            browser.type(comment)
            browser.press("Escape")
            browser.wait("document.getElementById('saved').textContent.startsWith('saved') && "
                         "!document.activeElement.classList.contains('comment')", "the comment saved")
            browser.press("ArrowDown")
            browser.wait(f"{CURRENT} === 1", "the second item")
            browser.press(second)
            browser.wait(f"JSON.stringify({PRESSED}) === JSON.stringify(['{first}', '{second}'])",
                         f"both levels on learner {number}")
            browser.wait(f"document.getElementById('progress').textContent === '{number} of 4 reviewed'",
                         f"progress after learner {number}")
            browser.press("j")
        browser.wait(f"{WHO} === '4'", "learner 4")
        assert browser.errors() == []

        # Saved as entered: the journal holds each level and comment, by alice.
        entries = list(read_reviews(review_out / FILE_NAME))
        assert {e.reviewer for e in entries} == {"alice"} and len({(e.learner, e.item) for e in entries}) == 6

        # Reload: the page comes back on learner 4; walking back with the keyboard finds every score kept.
        browser.reload()
        browser.wait(READY, "the page to load again")
        assert browser.js(WHO) == "4"
        assert browser.js("document.getElementById('progress').textContent") == "3 of 4 reviewed"
        for number in (3, 2, 1):
            _goto(browser, number)
            first, comment, second = plan[number]
            assert browser.js(PRESSED) == [first, second], f"learner {number}'s levels were not kept"
            assert browser.js(COMMENTS)[0] == comment
        shot = browser.screenshot()
        assert _png_size(shot) == (WIDTH, HEIGHT)
        assert _accent_pixels(shot) > 2000, "the pressed level buttons did not render"
        if os.environ.get("ICLAB_UPDATE_SCREENSHOTS"):
            (ROOT / "docs" / "review.png").write_bytes(shot)

        # In the gradebook: six reviewed rows with their comments, three learners with a total.
        deadline = time.monotonic() + 60
        rows = None
        while time.monotonic() < deadline:
            rows = _gradebook_rows(review_out)
            if rows and len(rows[0]) == 6 and len(rows[1]) == 3:
                break
            select.select([], [], [], 0.1)
        assert rows and len(rows[0]) == 6 and len(rows[1]) == 3, f"the scores did not reach the gradebook: {rows}"
        reviewed, totals = rows
        assert sorted(int(level) for _, _, level, _, _ in reviewed) == sorted(
            int(x) for p in plan.values() for x in (p[0], p[2]))
        assert sorted(c for *_, c in reviewed if c) == sorted(f"alice: {p[1]}" for p in plan.values())
        assert all(total >= 90 for total in totals.values())
    finally:
        server.stop()


_FIT = r"""(() => {
  const vw = window.innerWidth, out = {innerWidth: vw, scrollWidth: document.documentElement.scrollWidth, overflowing: []};
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5))
      out.overflowing.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''}`);
  }
  out.reviewedCells = document.querySelectorAll('td.reviewed').length;
  return out;
})()"""


@pytest.mark.parametrize("width", [1400, 390])
def test_the_report_with_reviewed_points_fits_a_laptop_and_a_phone(browser, review_out, width):
    from graders import gradebook
    from graders.review.journal import Entry, ReviewJournal

    journal = ReviewJournal(review_out / FILE_NAME)
    journal.append(Entry("ana", "map-customer", "idempotent-creates", 4, "a long comment " * 20, "alice"))
    journal.append(Entry("bob", "map-customer", "logging", 2, "", "alice"))
    journal.close()
    gradebook.build(review_out, [review_out / "journal.jsonl"])
    browser.open("about:blank")
    browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1,
                                                        "mobile": width < 600})
    browser.events.clear()
    browser.send("Page.navigate", {"url": (review_out / "report.html").as_uri()})
    while not any(e.get("method") == "Page.loadEventFired" for e in browser.events):
        browser.events.append(browser._read())
    measured = browser.js(_FIT)
    assert measured["reviewedCells"] == 6  # a Reviewed cell per learner
    assert measured["innerWidth"] == width and measured["scrollWidth"] <= width, measured
    assert measured["overflowing"] == [], measured["overflowing"][:10]


def test_a_comment_still_being_typed_is_saved_when_the_page_goes(browser, review_out):
    server = ReviewServer(review_out, reviewer="alice", rebuild_delay=3600).start()
    try:
        browser.open(server.url)
        browser.wait(READY, "the page to load")
        browser.press("c")
        browser.wait("document.activeElement.classList.contains('comment')", "the comment box")
        browser.type("half a thought")
        browser.reload()  # at once: the typing pause that saves a comment has not passed
        browser.wait(READY, "the page to load again")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(read_reviews(review_out / FILE_NAME)):
            select.select([], [], [], 0.05)
        assert [(e.level, e.comment) for e in read_reviews(review_out / FILE_NAME)] == [(None, "half a thought")]
        browser.wait(f"{COMMENTS}[0] === 'half a thought'", "the comment shown after the reload")
    finally:
        server.stop()
