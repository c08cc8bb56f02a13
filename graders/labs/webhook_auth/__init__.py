"""Hidden checks for webhook-auth: partner webhook signatures and HS256 bearer tokens.

Every signature and token is computed here with the standard library from a
fixed seed: other secrets, keys, issuers, audiences, clocks and delivery IDs
than the visible fixtures, so replaying the visible samples earns nothing.
Each group of deliveries or tokens isolates one property (raw body, window,
replay, algorithm, audience...) and is otherwise valid, so one mistake costs
the check it is about and not the rest; the order groups alone break
several rules at once.

The grader package is split because one module would pass 700 lines:
signing.py (signatures and tokens), constant_time.py (the source reader),
cases.py, deliveries.py and tokens.py (the hidden data), hidden.py (the
dataset); this module holds the probes, the judging and the checks.
"""
from __future__ import annotations

from ...checks import Grader, failed, passed
from ...evidence import mismatch_table, show
from ...results import Dimension
from .cases import DEFAULT_LEEWAY, DEFAULT_TOLERANCE, HEADER, Delivery, Token
from .constant_time import MODULE, constant_time_findings, read_source
from .hidden import DELIVERY_GROUPS, TOKEN_GROUPS, Hidden, make_hidden
from .signing import b64url, make_jwt, sign_webhook

__all__ = ["grader", "MODULE", "HEADER", "DEFAULT_TOLERANCE", "DEFAULT_LEEWAY", "Delivery", "Token", "Hidden",
           "make_hidden", "sign_webhook", "b64url", "make_jwt", "constant_time_findings", "read_source", "COVERAGE"]

COVERAGE = {
    1: ("header name in lower, upper and mixed case; items in any order with spaces around; unknown v0 first and last; "
        "the valid v1 first, middle and last of three; empty items — deliveries._header_parsing",
        "malformed headers: no t, t not ASCII digits (ISO, negative, decimal, empty, Arabic-Indic), T= and V1= "
        "(names are case-sensitive), a v1 without '=', empty or missing header — deliveries._header_parsing",
        "bodies that are not a JSON object with a non-empty string id (not JSON, array, string, empty, invalid "
        "UTF-8; id missing, empty, number, null, true, a list) — deliveries._malformed_body",
        "numbers in the body returned as Decimal (fractions, an exponent), a non-ASCII secret — deliveries._valid"),
    2: ("compact, pretty, UTF-8, \\u escapes, escaped slashes, reordered keys, bare numbers — deliveries._raw_body",
        "the same JSON value re-serialised, and a trailing newline added after signing — deliveries._raw_body"),
    3: ("other secret, body only, timestamp swapped, no dot, truncated, empty v1, SHA-1/SHA-512 MACs, a base64 MAC "
        "('=' in the value), three wrong v1s, the valid value under v0 — deliveries._bad_signature",
        "a changed amount in the body — deliveries._bad_signature"),
    4: ("exactly tolerance seconds old and in the future (accepted) and one second past on both sides (refused), "
        "with the default — deliveries._stale",
        "explicit tolerances 0, 60 and 600 on both sides of each edge — deliveries._stale"),
    5: ("the id first, in the middle, last and alone in seen_ids; look-alike ids; a 300-id store — deliveries._replay",
        "seen_ids after acceptance and after each kind of refusal (header, signature, stale, body, replay) — "
        "deliveries._records"),
    6: ("==, !=, in and not in on a MAC, directly, through a variable or a helper that returns one — "
        "constant_time.py, tests/labs/test_webhook_auth.py",
        "len() comparisons and compare_digest verdicts are not findings; a symlinked or non-UTF-8 source is read "
        "safely — constant_time.read_source"),
    7: ("segments needing 0, 1 and 2 padding characters, unicode and nested claims, a kid header, no typ — "
        "tokens._valid",
        "forged, truncated, padded, empty, hex and HS512 signatures; 2 and 4 segments, an empty segment, a header "
        "that is not JSON or is an array, claims that are an array or a string, not base64url, not ASCII, not UTF-8, "
        "no token at all — tokens._bad_signature"),
    8: ("exp and nbf at the leeway edge and one second (and half a second) past it, default leeway — tokens._time",
        "explicit leeways 0 and 120 on both sides; exp missing or null (expired), nbf null (absent), exp/nbf as "
        "strings and booleans (malformed); a future iat ignored — tokens._time and tokens._valid"),
    9: ("iss other, with a trailing slash, upper case, in a list, null, missing — tokens._issuer",
        "aud other, a prefix, a substring, upper case, a list with ours first/last/alone, without ours, empty, "
        "nested, null, missing — tokens._audience and tokens._valid"),
    10: ("alg none, NONE, None (with and without a signature), HS512, HS384, RS256, hs256, 'HS256 ' — tokens._alg",
         "alg missing, null or a list — tokens._alg"),
    11: ("deliveries breaking two rules: header+stale, header+signature, signature+stale (past and future), "
         "signature+body, signature+replay, stale+body, stale+replay, body+replay — deliveries._order",
         "tokens breaking two rules: structure+alg, alg+signature, alg+expired, signature+expired/exp type/audience, "
         "expired+nbf/issuer/audience, nbf+issuer, issuer+audience — tokens._order"),
}

grader = Grader(seed=20261207, data=make_hidden, preload=True, coverage=COVERAGE)


# -- probes -------------------------------------------------------------------
def _calls(run, target: str, arg_lists, watch: bool = False) -> tuple:
    """``target`` on each argument tuple, pipelined. When the first answer is refused for its size, the rest are
    not asked: each would cost the child the same encoding of a huge value only to be refused again."""
    first = run.call_many(target, arg_lists[:1], watch_args=watch)
    if first and first[0].error is not None and first[0].error.type == "WireError" and "limit" in first[0].error.message:
        return first * len(arg_lists)
    return first + run.call_many(target, arg_lists[1:], watch_args=watch)


def _deliver(run, deliveries, watch: bool = False):
    """verify_webhook on each delivery; tolerance passed (by position) only when the case sets one."""
    return _calls(run, f"{MODULE}:verify_webhook", [
        (dict(d.headers), d.body, d.secret, d.now, list(d.seen)) + (() if d.tolerance is None else (d.tolerance,))
        for d in deliveries], watch)


def _validate(run, tokens):
    """validate_jwt on each token; leeway passed (by position) only when the case sets one."""
    return _calls(run, f"{MODULE}:validate_jwt", [
        (t.token, t.key, t.now, t.issuer, t.audience) + (() if t.leeway is None else (t.leeway,)) for t in tokens])


def _twins(cases) -> tuple:
    """An order group's cases flattened: each case breaking two rules, then its two one-rule twins."""
    return tuple(c for o in cases for c in (o.both, o.first, o.second))


for _group in DELIVERY_GROUPS:
    if _group not in ("records", "webhook_order"):  # these two have probes of their own below
        grader.probe(_group)(lambda run, g=_group: _deliver(run, getattr(run.data, g)))
for _group in TOKEN_GROUPS:
    if _group != "jwt_order":
        grader.probe(_group)(lambda run, g=_group: _validate(run, getattr(run.data, g)))


@grader.probe("order")
def _probe_order(run):
    return (_deliver(run, _twins(run.data.webhook_order)), _validate(run, _twins(run.data.jwt_order)))


@grader.probe("records")
def _probe_records(run):
    return _deliver(run, run.data.records, watch=True)


@grader.probe("source")
def _probe_source(run):
    """The learner's webhooks.py as text, read here without following links, never executed."""
    return read_source(run.submission)


# -- judging ------------------------------------------------------------------
def _outcome(record):
    """('accepted', value) | ('rejected', reason) | ('error', one line)."""
    if record.ok:
        return ("accepted", record.value)
    if record.error is not None and record.error.type == "AuthError" and isinstance(record.error.attrs.get("reason"), str):
        return ("rejected", record.error.attrs["reason"])
    return ("error", record.problem())


def _same(a, b) -> bool:
    """Equal and of the same types all the way down: Decimal("1.5") is not the float 1.5, True is not 1."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _describe(outcome) -> str:
    kind, value = outcome
    if kind == "accepted":
        return f"accepted, returning {show(value, 70)}"
    if kind == "rejected":
        return f"AuthError reason {value!r}"
    return value


# Each reason's row in the contract's tables. A check about one rule judges a case that should get past that
# rule as right when it is accepted or refused by a *later* rule: the later rule's own check owns that refusal.
_WEBHOOK_RANK = {"malformed_header": 1, "bad_signature": 2, "stale_timestamp": 3, "malformed_body": 4, "replayed": 5}
_TOKEN_RANK = {"malformed": 1, "unsupported_alg": 2, "bad_signature": 3, "expired": 4, "not_yet_valid": 5,
               "wrong_issuer": 6, "wrong_audience": 7}


def _judge(records, cases, what: str, *, rule: int | None = None):
    """Rows for cases handled wrongly. ``rule``: the table row this check is about (None: the exact value too)."""
    rows = []
    for record, case in zip(records, cases):
        got = _outcome(record)
        ranks = _WEBHOOK_RANK if isinstance(case, Delivery) else _TOKEN_RANK
        if isinstance(case.expect, str):
            ok = got == ("rejected", case.expect)
            expected = f"AuthError reason {case.expect!r}"
        elif rule is not None:  # past this rule: accepted, or refused by a later one (whose check owns it)
            ok = got[0] == "accepted" or (got[0] == "rejected" and ranks.get(got[1], 0) > rule)
            expected = "accepted (or refused by a later rule)"
        else:
            ok = got[0] == "accepted" and _same(got[1], case.expect)
            expected = "accepted, returning the parsed event" if isinstance(case, Delivery) else "accepted, returning the claims"
            if got[0] == "accepted" and not ok and got[1] == case.expect:
                expected += " (numbers as Decimal, never float)"
        if not ok:
            rows.append((case.label, [f"expected {expected}", f"got {_describe(got)}"]))
    if rows:
        return failed(f"{len(rows)} of {len(cases)} {what} handled wrongly", mismatch_table(rows, len(cases)))
    return passed(f"all {len(cases)} {what} handled correctly")


def _register(rows) -> None:
    """One check per row: (id, title, points, skill, criterion, probe = group of cases, what, dimension, rule)."""
    for check_id, title, points, skill, criterion, group, what, dimension, rule in rows:
        def judge(records, data, group=group, what=what, rule=rule):
            """Each case's outcome against the contract."""
            return _judge(records, getattr(data, group), what, rule=rule)

        grader.check(check_id, title=title, points=points, skill=skill, dimension=dimension, criterion=criterion,
                     probe=group)(judge)


_SEC, _API = Dimension.SECURITY, Dimension.API_DATA
_register([
    ("accepts-valid-delivery", "Valid deliveries are accepted", 8, "hmac-signatures", 1, "valid",
     "validly signed, fresh deliveries", _API, None),
    ("header-parsing", "Signature header parsed as specified", 7, "http-headers", 1, "header_parsing",
     "signature headers (name case, spacing, order, extra schemes, rotation, malformed)", _API, 1),
    ("rejects-malformed-body", "Bodies that are not a JSON object with an id are refused", 4, "http-headers", 1,
     "malformed_body", "signed, fresh deliveries whose body is not a JSON object with a non-empty string id", _API, 4),
    ("signs-raw-body", "Signature checked over the raw body bytes", 8, "hmac-signatures", 2, "raw_body",
     "deliveries whose bytes differ from a re-serialised copy", _SEC, 2),
    ("rejects-bad-signature", "Forged or mismatched signatures are refused", 8, "hmac-signatures", 3,
     "bad_signature", "deliveries with a wrong signature", _SEC, 2),
    ("rejects-stale-timestamp", "Timestamps outside the tolerance window are refused", 8, "replay-protection", 4,
     "stale", "deliveries around the edges of the tolerance window", _SEC, 3),
    ("rejects-replay", "A delivery ID already seen is refused", 6, "replay-protection", 5, "replay",
     "redeliveries checked against the replay store", _SEC, 5),
])


@grader.check("records-delivery-id", title="Only accepted deliveries are recorded", points=5, skill="replay-protection",
              dimension=Dimension.INTEGRATION, criterion=5, probe="records")
def check_records(records, data):
    """seen_ids after each call (watched in the child): the ID appended on acceptance only."""
    rows = []
    judged = 0
    for record, case in zip(records, data.records):
        got = _outcome(record)
        accepted_expected = not isinstance(case.expect, str)
        if got != ("rejected", case.expect) and not (accepted_expected and got[0] == "accepted"):
            continue  # wrongly accepted or rejected: the check about that reason owns it
        judged += 1
        after = record.args_after[4] if record.args_after and len(record.args_after) > 4 else None
        want = list(case.seen) + ([case.expect["id"]] if accepted_expected else [])
        if not isinstance(after, list) or not _same(after, want):
            what = "accepted" if accepted_expected else f"rejected ({case.expect})"
            rows.append((case.label, [f"{what}: seen_ids should become {show(want, 80)}", f"it became {show(after, 80)}"]))
    if judged < 3:
        return failed(f"only {judged} of {len(data.records)} deliveries had the right outcome, too few to judge the "
                      "replay store", "see the other failed checks")
    if rows:
        return failed(f"seen_ids is wrong after {len(rows)} of {judged} deliveries: append the ID only once the "
                      "delivery is accepted", mismatch_table(rows, judged))
    return passed(f"seen_ids updated correctly after all {judged} deliveries")


@grader.check("constant-time-compare", title="Signatures compared in constant time", points=8, skill="timing-attacks",
              dimension=Dimension.SECURITY, criterion=6, probe="source")
def check_constant_time(source, data):
    """The learner's source, parsed here: compare_digest on the signature path of both entry points."""
    text, problem = source
    if problem:
        return failed(problem)
    findings = constant_time_findings(text, ("verify_webhook", "validate_jwt"))
    if not findings:
        return passed("verify_webhook and validate_jwt compare signatures with hmac.compare_digest")
    return failed(findings[0] + " (read from your source, not run)", "\n".join(findings[:4]))


_register([
    ("jwt-accepts-valid", "Valid HS256 tokens return their claims", 6, "jwt-validation", 7, "jwt_valid",
     "valid tokens", _API, None),
    ("jwt-rejects-bad-signature", "Forged and malformed tokens are refused", 5, "jwt-validation", 7,
     "jwt_bad_signature", "forged or malformed tokens", _SEC, 3),
    ("jwt-time-claims", "exp and nbf enforced with leeway", 6, "jwt-validation", 8, "jwt_time",
     "tokens around exp/nbf and the leeway", _SEC, 5),
    ("jwt-issuer", "Tokens from another issuer are refused", 3, "jwt-validation", 9, "jwt_issuer",
     "tokens with a wrong or missing iss", _SEC, 6),
    ("jwt-audience", "Tokens for another audience are refused", 4, "jwt-validation", 9, "jwt_audience",
     "tokens with a wrong or missing aud", _SEC, 7),
    ("jwt-algorithm-pinned", "alg none and other algorithms are refused", 6, "jwt-validation", 10, "jwt_alg",
     "tokens whose header names another algorithm", _SEC, 2),
])


@grader.check("rule-order", title="A delivery or token breaking several rules gets the first rule's reason", points=8,
              skill="replay-protection", dimension=_SEC, criterion=11, probe="order")
def check_order(records, data):
    """Each two-rule case gets the first rule's reason; judged only where both of its rules work on their own."""
    rows, judged, skipped = [], 0, 0
    for outcomes, cases in zip(records, (data.webhook_order, data.jwt_order)):
        for i, case in enumerate(cases):
            both, first, second = (_outcome(r) for r in outcomes[3 * i:3 * i + 3])
            if first != ("rejected", case.first.expect) or second != ("rejected", case.second.expect):
                skipped += 1  # a rule that fails on its own is charged by its own check
                continue
            judged += 1
            if both != ("rejected", case.expect):
                rows.append((case.label, [f"expected AuthError reason {case.expect!r} (the rule that comes first)",
                                          f"got {_describe(both)}"]))
    total = len(data.webhook_order) + len(data.jwt_order)
    note = f"; {skipped} not judged because one of their rules fails on its own (see the other checks)" if skipped else ""
    if not judged:
        return failed(f"none of the {total} deliveries and tokens breaking two rules could be judged: each breaks a "
                      "rule your code gets wrong on its own (see the other checks)")
    if rows:
        return failed(f"{len(rows)} of {judged} deliveries and tokens breaking two rules got the reason of a later "
                      f"rule{note}", mismatch_table(rows, judged))
    return passed(f"all {judged} deliveries and tokens breaking two rules got the first rule's reason{note}")
