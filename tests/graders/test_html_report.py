"""The instructor HTML report: structure, counts, scorecard, escaping, and a real render in Chromium."""
from __future__ import annotations

import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import os

import pytest
from lxml import html as lhtml

from graders.render.html_report import BAR_COLOUR, render_html_report, scale_legend, score_histogram, summarize_labs
from graders.results import SCALE_THRESHOLDS, CheckResult, Dimension, LabResult, Status, SubmissionResult, scorecard

HOSTILE = "<script>alert(1)</script>"
HOSTILE_REASON = "expected a date, got <img src=x onerror=alert(2)>"
DATE_REASON = "expected '2024-01-31', got '31/01/2024'"

# lab -> check id -> (title, max points, dimension)
CHECKS = {
    "map-customer": {
        "a1-dates": ("Dates are ISO 8601", 4.0, Dimension.API_DATA),
        "a2-status": ("Status codes are mapped", 3.0, Dimension.API_DATA),
        "a3-missing": ("A missing email is rejected", 2.0, Dimension.INTEGRATION),
        "a4-pii": ("No PII in the log", 1.0, Dimension.SECURITY),
    },
    "retry-orders": {
        "b1-retry-after": ("Honours Retry-After", 5.0, Dimension.INTEGRATION),
        "b2-no-retry-400": ("Never retries a 400", 3.0, Dimension.TROUBLESHOOTING),
        "b3-token": ("The token is never logged", 2.0, Dimension.SECURITY),
    },
}
TITLES = {"map-customer": "Map a customer record", "retry-orders": "Retry orders safely"}


def _lab(lab: str, submission: str, verdicts: dict[str, tuple[Status, str]]) -> LabResult:
    """A lab result where unnamed checks pass; skipped checks count for nothing either way."""
    checks = []
    for check_id, (title, max_points, dim) in CHECKS[lab].items():
        status, reason = verdicts.get(check_id, (Status.PASSED, "ok"))
        points = max_points if status is Status.PASSED else 0.0
        checks.append(CheckResult(check_id, title, status, points, max_points, "skill", dim, reason))
    counted = [c for c in checks if c.status is not Status.SKIPPED]
    return LabResult(lab, TITLES[lab], submission, tuple(checks), sum(c.points for c in counted),
                     sum(c.max_points for c in counted), "0.1.0", graded_at="2025-01-01T00:00:00+00:00")


def _submission(name: str, labs: dict[str, dict[str, tuple[Status, str]]], problems=()) -> SubmissionResult:
    return SubmissionResult(name, tuple(_lab(lab, name, v) for lab, v in labs.items()), tuple(problems))


F, E, S = Status.FAILED, Status.ERRORED, Status.SKIPPED


def _gradebook() -> list[SubmissionResult]:
    return [
        _submission("ada", {"map-customer": {}, "retry-orders": {}}),  # 100, 100
        _submission("bo", {  # 90, 5/8 = 62.5
            "map-customer": {"a4-pii": (F, "the log holds ***@***.example")},
            "retry-orders": {"b2-no-retry-400": (F, "retried a 400 three times"), "b3-token": (S, "no log captured")},
        }),
        _submission("cy", {  # 30, 0
            "map-customer": {"a1-dates": (F, DATE_REASON), "a2-status": (E, "the child process timed out after 2s")},
            "retry-orders": {"b1-retry-after": (E, "the child process crashed"),
                             "b2-no-retry-400": (F, "retried a 400 three times"), "b3-token": (F, "Bearer *** in the log")},
        }, problems=["submission had an extra top-level folder"]),
        _submission(HOSTILE, {  # 60, 50
            "map-customer": {"a1-dates": (F, HOSTILE_REASON)},
            "retry-orders": {"b1-retry-after": (F, "retried before Retry-After elapsed")},
        }),
        _submission("dee", {"map-customer": {"a1-dates": (F, DATE_REASON), "a4-pii": (F, "the log holds ***@***.example")}}),  # 50, -
        _submission("eve", {"map-customer": {"a3-missing": (F, "accepted a record without email")},  # 80, 80
                            "retry-orders": {"b3-token": (F, "Bearer *** in the log")}}),
    ]


HIST = {"map-customer": [0, 0, 0, 1, 0, 1, 1, 0, 1, 2], "retry-orders": [1, 0, 0, 0, 0, 1, 1, 0, 1, 1]}
FAILED = {  # in the order the report lists them: most failed first, then by id
    "map-customer": [("a1-dates", 3), ("a4-pii", 2), ("a2-status", 1), ("a3-missing", 1)],
    "retry-orders": [("b1-retry-after", 2), ("b2-no-retry-400", 2), ("b3-token", 2)],
}


@pytest.fixture(scope="module")
def gradebook():
    return _gradebook()


@pytest.fixture(scope="module")
def report(gradebook):
    return render_html_report(gradebook, title="Cohort 7 <spring>", generated_at="2025-01-01T12:00:00Z")


@pytest.fixture(scope="module")
def doc(report):
    return lhtml.document_fromstring(report)


def _text(el) -> str:
    return " ".join(el.text_content().split())


# --------------------------------------------------------------------------- the pure aggregation


@pytest.mark.parametrize("percent, bin_", [(0, 0), (9.99, 0), (10, 1), (55.5, 5), (89.9, 8), (90, 9), (100, 9),
                                           (-3, 0), (140, 9)])
def test_histogram_bins_are_ten_points_wide_and_100_is_in_the_last(percent, bin_):
    expected = [0] * 10
    expected[bin_] = 1
    assert score_histogram([percent]) == tuple(expected)


def test_summaries_count_distribution_and_failures(gradebook):
    summaries = {s.lab: s for s in summarize_labs(gradebook)}
    assert list(summaries) == ["map-customer", "retry-orders"]
    a, b = summaries["map-customer"], summaries["retry-orders"]
    assert (a.graded, a.mean, a.median, a.low, a.high, a.full_marks) == (6, 68.3, 70.0, 30.0, 100.0, 1)
    assert (b.graded, b.mean, b.median, b.low, b.high, b.full_marks) == (5, 58.5, 62.5, 0.0, 100.0, 1)
    for lab, hist in HIST.items():
        assert list(summaries[lab].histogram) == hist
        assert [(f.id, f.total) for f in summaries[lab].failed_checks] == FAILED[lab]
    dates = a.failed_checks[0]
    assert dates.reasons == ((DATE_REASON, 2), (HOSTILE_REASON, 1))
    assert (dates.failed, dates.errored, dates.graded) == (3, 0, 6)
    b1 = b.failed_checks[0]
    assert (b1.failed, b1.errored) == (1, 1)


def test_most_failed_list_is_capped_and_says_how_many_more(gradebook):
    (a, _) = summarize_labs(gradebook, top_checks=2)
    assert [f.id for f in a.failed_checks] == ["a1-dates", "a4-pii"] and a.more_failed_checks == 2


def test_the_legend_comes_from_the_scale_thresholds():
    legend = scale_legend()
    assert [level for _, level, _ in legend] == [level for _, level in SCALE_THRESHOLDS]
    for (band, _, _), (threshold, _) in zip(legend, SCALE_THRESHOLDS):
        assert band == (f"{threshold * 100:g}%+" if threshold else f"below {SCALE_THRESHOLDS[-2][0] * 100:g}%")
    words = {level: word for _, level, word in legend}
    assert (words[1], words[3], words[5]) == ("gap", "meets", "standout")


# --------------------------------------------------------------------------- the HTML


def test_header_summarises_submissions_labs_mean_and_median(doc):
    assert _text(doc.xpath("//h1")[0]) == "Cohort 7 <spring>"
    assert doc.xpath("//title")[0].text == "Cohort 7 <spring>"
    meta = _text(doc.xpath("//p[@class='meta']")[0])
    assert "6 submissions" in meta and "2 labs" in meta and "2025-01-01T12:00:00Z" in meta
    rows = {r.get("data-lab"): r for r in doc.xpath("//table[@id='lab-summary']/tbody/tr")}
    assert _text(rows["map-customer"].xpath("td[contains(@class,'mean')]")[0]) == "68.3%"
    assert _text(rows["map-customer"].xpath("td[contains(@class,'median')]")[0]) == "70.0%"
    assert _text(rows["retry-orders"].xpath("td[contains(@class,'median')]")[0]) == "62.5%"


def test_one_chart_per_lab_with_a_bar_and_count_per_bin(doc):
    charts = doc.xpath("//svg[@class='hist']")
    assert [c.get("data-lab") for c in charts] == ["map-customer", "retry-orders"]
    for chart in charts:
        hist = HIST[chart.get("data-lab")]
        bars = chart.xpath(".//rect[@class='bar']")
        assert len(bars) == 10
        assert [int(b.get("data-count")) for b in bars] == hist
        assert all(b.get("fill") == BAR_COLOUR for b in bars)
        counts = chart.xpath(".//text[@class='count']")
        assert [int(t.text) for t in counts] == [n for n in hist if n]
        # Taller bars for bigger counts, on a shared baseline.
        heights = [float(b.get("height")) for b in bars]
        assert sorted(range(10), key=lambda i: (hist[i], i)) == sorted(range(10), key=lambda i: (heights[i], i))
        ticks = [t.text for t in chart.xpath(".//text[@class='tick']")]
        assert [str(x) for x in range(0, 101, 10)] == ticks[-11:]
        titles = [t.text for t in chart.xpath(".//text[@class='axis-title']")]
        assert titles == ["score (%)", "submissions"]


def test_most_failed_tables_give_counts_and_reasons(doc):
    for lab, expected in FAILED.items():
        table = doc.xpath(f"//table[contains(@class, 'failed')][@data-lab='{lab}']")[0]
        rows = table.xpath("tbody/tr")
        got = [(r.get("data-check"), int(r.xpath(".//span[@class='failed-count']")[0].text)) for r in rows]
        assert got == expected
        graded = 6 if lab == "map-customer" else 5
        assert all(f"of {graded}" in _text(r) for r in rows)
    first = doc.xpath("//table[@data-lab='map-customer']/tbody/tr[@data-check='a1-dates']")[0]
    reasons = [_text(li) for li in first.xpath(".//ul[@class='reasons']/li")]
    assert reasons == [f"{DATE_REASON} ×2", f"{HOSTILE_REASON} ×1"]
    assert "(1 errored)" in _text(doc.xpath("//tr[@data-check='b1-retry-after']")[0])


def test_learner_rows_show_lab_scores_totals_and_the_scorecard(doc, gradebook):
    rows = doc.xpath("//table[@id='learners']/tbody/tr")
    names = [_text(r.xpath(".//bdi[@class='name']")[0]) for r in rows]
    assert names == sorted(s.submission for s in gradebook)
    by_name = dict(zip(names, rows))
    # One scorecard cell per learner, a chip per dimension some check evidences (abbreviated, spelled out in the legend).
    dims = [chip.get("data-dimension") for chip in rows[0].xpath(".//td[contains(@class, 'scorecard')]//*[@data-dimension]")]
    used = {d for lab in CHECKS.values() for _, _, d in lab.values()}
    assert dims == [d.value for d in Dimension if d in used]  # only the dimensions some check evidences
    for sub in gradebook:
        row = by_name[sub.submission]
        card = {d.dimension.value: d.level for d in scorecard(sub.labs)}
        chips = row.xpath(".//td[contains(@class, 'scorecard')]//*[@data-dimension]")
        shown = {chip.get("data-dimension"): chip.xpath(".//span[@data-level]") for chip in chips}
        assert {k: int(v[0].get("data-level")) for k, v in shown.items() if v} == card
        assert all(_text(chip).endswith("—") for chip in chips if chip.get("data-dimension") not in card)
        total = row.xpath("td[contains(@class,'total')]")[0]
        assert f"{sub.score:g}/{sub.max_score:g}" in _text(total)
    eve = by_name["eve"]
    assert _text(eve.xpath(".//*[@data-dimension='Integration fundamentals']")[0]) == "INT 3"  # 5/7 of the points
    assert _text(eve.xpath("td[@data-lab='map-customer']")[0]) == "80.0% 8/10"
    assert _text(by_name["bo"].xpath("td[@data-lab='retry-orders']")[0]) == "62.5% 5/8"
    assert _text(by_name["dee"].xpath("td[@data-lab='retry-orders']")[0]) == "—"  # never submitted it
    assert "extra top-level folder" in _text(by_name["cy"])


def test_the_thresholds_legend_is_written_in_the_report(doc):
    legend = _text(doc.xpath("//p[@id='scale-legend']")[0])
    for band, level, word in scale_legend():
        assert f"{band} = {level} {word}".strip() in legend
    assert "95%+ = 5 standout" in legend and "below 35% = 1 gap" in legend and "60%+ = 3 meets" in legend


def test_untrusted_text_is_escaped_never_raw(report, doc):
    assert HOSTILE not in report and "<img" not in report and "<spring>" not in report
    assert not doc.xpath("//script | //img | //iframe | //object | //embed")
    # ...but it is shown, as text, where it belongs.
    assert HOSTILE in [_text(n) for n in doc.xpath("//bdi[@class='name']")]
    assert HOSTILE_REASON in [_text(n) for n in doc.xpath("//span[@class='reason']")]


def test_control_characters_and_quotes_cannot_break_out():
    name = 'x" onmouseover="alert(1)\x00\x1b[31m\u202e'
    sub = _submission(name, {"map-customer": {"a1-dates": (F, "bad\x07 reason ' \"")}})
    out = render_html_report([sub])
    assert "\x00" not in out and "\x1b" not in out and "\x07" not in out
    doc = lhtml.document_fromstring(out)
    assert not doc.xpath("//*[@onmouseover]")
    assert _text(doc.xpath("//bdi[@class='name']")[0]) == 'x" onmouseover="alert(1)\ufffd\ufffd[31m\u202e'


def test_self_contained_no_script_no_external_resources(report, doc):
    assert not doc.xpath("//script | //link | //*[@src] | //*[@href]")
    assert "http://" not in report and "https://" not in report and "url(" not in report and "@import" not in report
    assert len(doc.xpath("//style")) == 1
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']")[0].get("content")
    assert "default-src 'none'" in csp


def test_deterministic_whatever_the_input_order(gradebook, report):
    shuffled = list(gradebook)
    random.Random(7).shuffle(shuffled)
    again = render_html_report(shuffled, title="Cohort 7 <spring>", generated_at="2025-01-01T12:00:00Z")
    assert again == report
    assert render_html_report(gradebook) == render_html_report(list(reversed(gradebook)))


def test_an_empty_gradebook_still_renders():
    doc = lhtml.document_fromstring(render_html_report([]))
    assert "0 submissions" in _text(doc.xpath("//p[@class='meta']")[0])
    assert not doc.xpath("//svg")
    assert "No submissions." in _text(doc.xpath("//table[@id='learners']")[0])


def test_a_lab_nobody_failed_says_so():
    doc = lhtml.document_fromstring(render_html_report([_submission("ada", {"map-customer": {}})]))
    assert not doc.xpath("//table[contains(@class, 'failed')]")
    assert "Every graded check passed" in _text(doc.xpath("//section[@id='failed-checks']")[0])


# --------------------------------------------------------------------------- a real render in headless Chromium

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
WIDTH, HEIGHT = 1280, 2000


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """Decode an 8-bit RGB or RGBA non-interlaced PNG: (width, height, channels, raw pixel bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG: depth {depth} colour {colour}"
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((x + p) & 0xFF for x, p in zip(line, prev))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                if i >= bpp:
                    line[i] = (line[i] + _paeth(line[i - bpp], prev[i], prev[i - bpp])) & 0xFF
                else:
                    line[i] = (line[i] + prev[i]) & 0xFF
        else:
            assert kind == 0, f"bad filter type {kind}"
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return width, height, bpp, bytes(out)


def test_png_decoder_reads_every_filter_type():
    """A tiny hand-made PNG using all five row filters decodes to the pixels encoded."""
    width, bpp = 3, 3
    rows = [bytes([10, 20, 30, 40, 50, 60, 70, 80, 90]), bytes([15, 25, 35, 45, 55, 65, 75, 85, 95]),
            bytes([200, 100, 0, 255, 1, 2, 3, 4, 5]), bytes([9, 8, 7, 6, 5, 4, 3, 2, 1]), bytes([0, 0, 0, 255, 255, 255, 128, 128, 128])]

    def encode(kind, line, prev):
        out = bytearray()
        for i, x in enumerate(line):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            pred = [0, a, b, (a + b) >> 1, _paeth(a, b, c)][kind]
            out.append((x - pred) & 0xFF)
        return bytes([kind]) + bytes(out)

    prev, raw = bytes(width * bpp), b""
    for kind, line in enumerate(rows):
        raw += encode(kind, line, prev)
        prev = line

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    assert decode_png(png) == (width, len(rows), bpp, b"".join(rows))


def _count_colour(pixels: bytes, bpp: int, rgb: tuple[int, int, int], tolerance: int = 4) -> int:
    r0, g0, b0 = rgb
    count = 0
    for i in range(0, len(pixels), bpp):
        if abs(pixels[i] - r0) <= tolerance and abs(pixels[i + 1] - g0) <= tolerance and abs(pixels[i + 2] - b0) <= tolerance:
            count += 1
    return count


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed (Debian: apt-get install -y chromium); `make test` as root installs it")
def test_chromium_renders_the_charts(tmp_path, report, doc):
    # In CI a missing browser is a failure, never a silent skip: `make test` must have installed it.
    assert CHROMIUM is not None, "chromium missing in CI: the Makefile's browser step did not install it"
    page = tmp_path / "report.html"
    page.write_text(report, encoding="utf-8")
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
           page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert shot.exists(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    width, height, bpp, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    bar = tuple(int(BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    # The bars' area in SVG units; each chart is drawn at least about that size at this window width.
    area = sum(float(r.get("width")) * float(r.get("height")) for r in doc.xpath("//rect[@class='bar']"))
    drawn = _count_colour(pixels, bpp, bar)
    assert drawn > 0.6 * area > 10_000, f"only {drawn} pixels of the bar colour {BAR_COLOUR}: the charts did not render"
    # And the page is not one flat colour: text and tables rendered around them.
    assert _count_colour(pixels, bpp, (255, 255, 255), tolerance=0) < width * height * 0.97


# --------------------------------------------------------------------------- each learner's lost checks


def test_each_learners_lost_checks_are_listed_with_points_and_reasons(doc, gradebook):
    blocks = {b.get("data-learner"): b for b in doc.xpath("//section[@id='lost-checks']//div[@class='lost']")}
    for sub in gradebook:
        lost = [(r.lab, c.id, c.reason) for r in sub.labs for c in r.checks if c.status in (F, E)]
        if not lost:
            assert sub.submission not in blocks
            continue
        items = blocks[sub.submission].xpath(".//li[@data-check]")
        assert sorted((li.get("data-lab"), li.get("data-check")) for li in items) == sorted((lab, c) for lab, c, _ in lost)
        for li in items:
            reason = next(r for lab, c, r in lost if (lab, c) == (li.get("data-lab"), li.get("data-check")))
            assert reason in _text(li) and "−" in _text(li)
    assert "1 learner lost no check" in _text(doc.xpath("//p[@id='lost-none']")[0])  # ada


def test_learners_with_nothing_graded_are_shown_with_status_and_reason():
    from graders.results import GradingStatus

    subs = [_submission("ada", {"map-customer": {}}),
            SubmissionResult("zed", (), status=GradingStatus.UNGRADABLE, reason="the folder is empty"),
            SubmissionResult("mal", (), status=GradingStatus.REFUSED, reason="mal.zip was refused: not a zip file")]
    doc = lhtml.document_fromstring(render_html_report(subs))
    rows = {_text(r.xpath(".//bdi[@class='name']")[0]): r for r in doc.xpath("//table[@id='learners']/tbody/tr")}
    assert set(rows) == {"ada", "zed", "mal"}
    assert "ungradable" in _text(rows["zed"]) and "the folder is empty" in _text(rows["zed"])
    assert "refused" in _text(rows["mal"]) and "not a zip file" in _text(rows["mal"])
    tiles = {t.get("data-stat"): _text(t) for t in doc.xpath("//div[@class='tile']")}
    assert tiles["graded"].startswith("1") and tiles["refused"].startswith("1") and tiles["ungradable"].startswith("1")
    lost = {b.get("data-learner"): _text(b) for b in doc.xpath("//div[@class='lost']")}
    assert "Nothing graded: the folder is empty" in lost["zed"]


# --------------------------------------------------------------------------- a laptop and a phone, in Chromium

LABS_10 = ["api-sync", "csv-batch", "idempotent-orders", "log-triage", "map-customer", "mapping-tests", "pii-logging",
           "sql-recon", "webhook-auth", "xml-invoice"]


def _wide_gradebook() -> list[SubmissionResult]:
    """The widest report a cohort gives: ten labs, all six dimensions, long and non-Latin names, long reasons."""
    from graders.results import GradingStatus

    dims = list(Dimension)
    names = ["ana", "Bartholomew Featherstonehaugh-Cholmondeley", "王伟", "Иван Петрович Сидоров",
             "x" * 48, "eve", "standout-student"]
    subs = []
    for k, name in enumerate(names):
        labs = []
        for j, lab in enumerate(LABS_10):
            checks = []
            for i in range(6):
                failed = (i + j + k) % 3 == 0
                checks.append(CheckResult(
                    f"{lab.split('-')[0]}-criterion-{i}", f"Acceptance criterion {i} of {lab}",
                    Status.FAILED if failed else Status.PASSED, 0.0 if failed else 5.0, 5.0, "skill", dims[(i + j) % 6],
                    "expected the ERP customer's phone as E.164 (+4930123456), got '030 123456' for account ACME-000042"
                    if failed else ""))
            labs.append(LabResult(lab, f"The {lab} lab", name, tuple(checks), sum(c.points for c in checks), 30.0,
                                  "0.1.0", graded_at="2025-01-01T00:00:00+00:00"))
        subs.append(SubmissionResult(name, tuple(labs)))
    subs.append(SubmissionResult("refused-learner", (), status=GradingStatus.REFUSED,
                                 reason="refused-learner.zip was refused: member '../../x.py' climbs out of its folder"))
    subs.append(SubmissionResult("empty-learner", (), status=GradingStatus.UNGRADABLE, reason="the folder is empty"))
    return subs


class _DevTools:
    """Headless Chromium driven over its DevTools pipe (fds 3 and 4): load a page at a size, run a script."""

    def __init__(self, binary: str, profile: Path):
        import fcntl

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
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4, *theirs), preexec_fn=on_fds_3_and_4, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in theirs:
            os.close(fd)
        self._buf, self._id, self._events = b"", 0, []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        import json

        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self._events.append(reply)

    def _read(self, timeout: float = 60) -> dict:
        import json
        import select
        import time

        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([self._r], [], [], left)[0], "chromium did not answer"
            chunk = os.read(self._r, 1 << 16)
            assert chunk, "chromium closed its DevTools pipe"
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def evaluate_at(self, url: str, width: int, height: int, script: str, *, mobile: bool):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session)
        self.send("Page.enable", {}, session)
        self.send("Page.navigate", {"url": url}, session)
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._events.append(self._read())
        self._events.clear()
        # Runtime.evaluate runs beside the page's Content-Security-Policy: the page itself stays script-free.
        value = self.send("Runtime.evaluate", {"expression": script, "returnByValue": True}, session)["result"]["value"]
        self.send("Target.closeTarget", {"targetId": target})
        return value

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


# Measures, in the laid-out page: the page's width against the window's; elements sticking out of it;
# words broken across two lines although they fit on one, or are short enough that a table column should
# have made room (a break after a hyphen or slash is not one); and where each chart sits.
_MEASURE = r"""(() => {
  const vw = window.innerWidth, out = {innerWidth: vw, scrollWidth: document.documentElement.scrollWidth,
                                       overflowing: [], broken: [], charts: []};
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5))
      out.overflowing.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  const ctx = document.createElement('canvas').getContext('2d');
  const blockOf = (el) => { while (el && getComputedStyle(el).display.startsWith('inline')) el = el.parentElement; return el; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), range = document.createRange();
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || el.closest('svg')) continue;
    const part = /[^\s\-\u2010\u2013\/]+[\-\u2010\u2013\/]?/g;
    let m;
    while ((m = part.exec(node.data))) {
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
      if (lines.size < 2) continue;
      const style = getComputedStyle(el), block = blockOf(el), bs = getComputedStyle(block);
      ctx.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const room = block.clientWidth - parseFloat(bs.paddingLeft) - parseFloat(bs.paddingRight);
      const need = ctx.measureText(style.textTransform === 'uppercase' ? m[0].toUpperCase() : m[0]).width;
      // It could have stayed whole: it fits its box, or is short enough (150 px) that the layout should make room.
      if (need <= Math.max(room, 150)) out.broken.push(`${m[0]} (needs ${Math.round(need)} px, has ${Math.round(room)})`);
    }
  }
  for (const svg of document.querySelectorAll('svg.hist')) {
    const r = svg.getBoundingClientRect(), f = svg.closest('figure').getBoundingClientRect();
    out.charts.push({left: r.left, right: r.right, width: r.width, height: r.height, figureLeft: f.left, figureRight: f.right});
  }
  return out;
})()"""


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: the Makefile's browser step did not install it")
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); `make test` as root installs it")
    folder = tmp_path_factory.mktemp("widths")
    page = folder / "report.html"
    page.write_text(render_html_report(_wide_gradebook(), title="Cohort 7, spring intake"), encoding="utf-8")
    browser = _DevTools(CHROMIUM, folder / "profile")
    try:
        return {width: browser.evaluate_at(page.as_uri(), width, 900, _MEASURE, mobile=width < 600)
                for width in (1400, 390)}
    finally:
        browser.close()


@pytest.mark.parametrize("width", [1400, 390])
def test_the_report_fits_a_laptop_and_a_phone(measured, width):
    m = measured[width]
    # A phone (mobile emulation honours the viewport meta) zooms out to show a page wider than itself: no zooming.
    assert m["innerWidth"] == width, f"the page is laid out {m['innerWidth']} px wide in a {width} px window"
    assert m["scrollWidth"] <= width, f"the page needs {m['scrollWidth']} px at {width} px"
    assert m["overflowing"] == [], m["overflowing"][:10]
    assert m["broken"] == [], f"words broken mid-word at {width} px: {m['broken'][:10]}"
    assert len(m["charts"]) == len(LABS_10)
    for chart in m["charts"]:
        assert 0 <= chart["left"] and chart["right"] <= width, f"a chart is cut off at {width} px: {chart}"
        assert chart["figureLeft"] <= chart["left"] and chart["right"] <= chart["figureRight"]
        assert chart["width"] >= 300 and chart["height"] >= 150, f"a chart is squeezed at {width} px: {chart}"
