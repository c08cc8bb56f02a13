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
