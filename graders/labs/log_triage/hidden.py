"""The hidden dataset of log-triage, and the coverage it is designed to have per acceptance criterion.

``COVERAGE`` is the table an author reads before adding a criterion: each
edge class names where it is generated (bundles.py for the three bundles,
samples.py for the single lines, findings.py for the answer key).
"""
from __future__ import annotations

import random

from .bundles import FILES, SOURCES, Hidden, make_bundles
from .samples import make_samples, unknown_sources

__all__ = ["COVERAGE", "make_hidden", "hidden_files"]

COVERAGE = {
    1: ("keys in any order, extra and nested keys, levels in five spellings — bundles.render_runtime, samples._runtime",
        "corr_id absent, null and \"\"; http_status absent, null, int, \"503\", true — render_runtime, samples._runtime",
        "msg absent, null and a number; non-ASCII text with and without \\u escapes — samples._runtime, render_runtime"),
    2: ("every month Jan-Dec, user and X-Correlation-ID as '-' or set, size '-' or a number — samples._GATEWAY",
        "status classes at their edges: 200 204 301 304 | 400 401 404 429 499 | 500 502 503 504 — samples._GATEWAY, "
        "_Story.poll fetch failures",
        "fields in any order, HTTP/1.0, 1.1 and 2.0, six methods — render_gateway, samples._GATEWAY"),
    3: ("quoted values holding spaces, '=' and ',' ; keys in any order; cid '-' or absent; status absent — render_erp, "
        "samples._erp",
        "WARNING for WARN, msg absent, stack-trace lines after an ERROR — render_erp, samples._erp, _Story.order"),
    4: ("offsets -12:00 -11:00 -10:00 -09:30 -08:00 -04:00 -03:30 | 00:00 | +02:00 +05:30 +05:45 +09:00 +09:30 "
        "+13:00 +13:45 +14:00 — make_bundles offsets, samples",
        "instants across midnight, month ends, 29 February and the new year, with and without milliseconds — "
        "make_bundles starts, samples._GATEWAY, samples._runtime"),
    5: ("blank and whitespace-only lines, banners, stack traces, truncated and non-object JSON, JSON without level or "
        "with a blank, numeric or null level — bundles._JUNK, samples._NON_RECORDS",
        "dates that do not exist (30 February, 31 April), month 'Sept', naive and numeric ts — "
        "samples._NON_RECORDS",
        "unknown sources ('firewall', 'Gateway', 'erp.log', 'runtime ', '') raise ValueError — samples.unknown_sources"),
    6: ("client_secret, password and access_token ended by &, space, quote, comma, ';', '}' and the end — "
        "samples._runtime, samples._erp, samples._GATEWAY",
        "two or three secrets in one line, Bearer and Basic in one line, credentials with ~ + / = - _ — samples, "
        "_Story tokens"),
    7: ("equal timestamps inside one group in shuffled input order — make_hidden group_input, _Story.burst",
        "records without a correlation ID, 12+ groups, the input checked for changes — make_hidden group_input"),
    8: ("equal timestamps across the three files and twice in one file, another ID at the same instant — _Story.burst",
        "no erp.log (bundle-b), no gateway.log (bundle-c), CRLF, a byte that is not UTF-8 — make_bundles, hidden_files",
        "a replay whose ID starts with the original's and whose message names it, an unknown ID — _Story.replay"),
    9: ("seven incidents, all seven categories — findings.KEY",
        "traps where a near category fits the symptom (401 vs server error, 429 vs server error) — findings.TRAPS"),
    10: ("one to five transactions per incident, 2 to 14 key lines — findings.KEY",
         "citations checked as (correlation ID, UTC ms, source) against every line of the incident's transactions — "
         "findings.evidence"),
    11: ("six of the seven kinds, one kind for two incidents, one kind for none — findings.KEY",
         "judged only where the category is right — findings.next_step_kind"),
    12: ("safe after a rollback, a 4xx and a failed token request; unsafe after a timeout, a 429 and a replay — "
         "findings.KEY", "booleans only: strings and numbers refused — findings.replay"),
    13: ("the client secret, the Basic credential and both Bearer tokens' payloads and signatures — findings.SECRETS",
         "a secret anywhere in the file: notes, prose, comments — findings.no_secrets"),
}


def make_hidden(rng: random.Random) -> Hidden:
    bundles, timelines = make_bundles(rng)
    samples = make_samples(rng)
    records = [line.expected for b in bundles for line in b.lines if line.expected is not None]
    rng.shuffle(records)  # ties inside a group then come in an order only a stable sort keeps
    return Hidden(bundles, samples, unknown_sources(samples), tuple(records), timelines)


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """The bundles' files: bundle-b has Windows line endings and no erp.log, bundle-c no gateway.log."""
    files = {}
    for bundle in data.bundles:
        for source in SOURCES:
            if source in bundle.absent:
                continue
            end = bundle.newline.encode()
            body = b"".join((line.raw or line.text.encode("utf-8")) + end
                            for line in bundle.lines if line.source == source)
            files[f"{bundle.folder}/{FILES[source]}"] = body
    return files
