"""Hidden checks for webhook-auth: partner webhook signatures and HS256 bearer tokens.

Every signature and token is computed here with the standard library from a
fixed seed: other secrets, keys, issuers, audiences, clocks and delivery IDs
than the visible fixtures, so replaying the visible samples earns nothing.
Each group of deliveries or tokens isolates one property (raw body, window,
replay, algorithm, audience...) and is otherwise valid, so one mistake costs
the check it is about and not the rest.

The grader package is split because one module would pass 550 lines:
signing.py (signatures and tokens), constant_time.py (the source reader)
and hidden.py (the hidden deliveries and tokens); this module holds the
probes, the judging and the checks.
"""
from __future__ import annotations

from ...checks import Grader, failed, passed
from ...evidence import mismatch_table, show
from ...results import Dimension
from .constant_time import MODULE, constant_time_findings
from .hidden import DEFAULT_LEEWAY, DEFAULT_TOLERANCE, HEADER, Delivery, Hidden, Token, make_hidden
from .signing import b64url, make_jwt, sign_webhook

__all__ = ["grader", "MODULE", "HEADER", "DEFAULT_TOLERANCE", "DEFAULT_LEEWAY", "Delivery", "Token", "Hidden",
           "make_hidden", "sign_webhook", "b64url", "make_jwt", "constant_time_findings"]

grader = Grader(seed=20261207, data=make_hidden, preload=True)


# -- probes -------------------------------------------------------------------
def _deliver(run, deliveries, watch: bool = False):
    out = []
    for d in deliveries:
        kwargs = {} if d.tolerance is None else {"tolerance": d.tolerance}
        out.append(run.call(f"{MODULE}:verify_webhook", dict(d.headers), d.body, d.secret, d.now, list(d.seen),
                            watch_args=watch, **kwargs))
    return tuple(out)


def _validate(run, tokens):
    out = []
    for t in tokens:
        kwargs = {} if t.leeway is None else {"leeway": t.leeway}
        out.append(run.call(f"{MODULE}:validate_jwt", t.token, t.key, t.now, t.issuer, t.audience, **kwargs))
    return tuple(out)


for _group in ("valid", "raw_body", "bad_signature", "header_parsing", "stale", "replay"):
    grader.probe(_group)(lambda run, g=_group: _deliver(run, getattr(run.data, g)))
for _group in ("jwt_valid", "jwt_bad_signature", "jwt_time", "jwt_issuer", "jwt_audience", "jwt_alg"):
    grader.probe(_group)(lambda run, g=_group: _validate(run, getattr(run.data, g)))


@grader.probe("records")
def _probe_records(run):
    return _deliver(run, run.data.records, watch=True)


@grader.probe("source")
def _probe_source(run):
    """The learner's webhooks.py as plain text, read here and parsed, never executed."""
    # Run has no public path to the submission; a fresh sandbox knows it and
    # starts no process until it is called.
    with run.fresh() as sandbox:
        path = sandbox.submission / f"{MODULE}.py"
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


# -- judging ------------------------------------------------------------------
def _outcome(record):
    """('accepted', value) | ('rejected', reason) | ('error', one line)."""
    if record.ok:
        return ("accepted", record.value)
    if record.error is not None and record.error.type == "AuthError" and isinstance(record.error.attrs.get("reason"), str):
        return ("rejected", record.error.attrs["reason"])
    return ("error", record.problem())


def _describe(outcome) -> str:
    kind, value = outcome
    if kind == "accepted":
        return f"accepted, returning {show(value, 70)}"
    if kind == "rejected":
        return f"AuthError reason {value!r}"
    return value


def _judge(records, cases, what: str, *, lenient_event: bool = False):
    rows = []
    for record, case in zip(records, cases):
        got = _outcome(record)
        if isinstance(case.expect, str):
            ok = got == ("rejected", case.expect)
            expected = f"AuthError reason {case.expect!r}"
        else:
            ok = got[0] == "accepted" and (
                got[1] == case.expect if not lenient_event
                else isinstance(got[1], dict) and got[1].get("id") == case.expect.get("id"))
            expected = "accepted, returning the parsed event" if isinstance(case, Delivery) else "accepted, returning the claims"
        if not ok:
            rows.append((case.label, [f"expected {expected}", f"got {_describe(got)}"]))
    if rows:
        return failed(f"{len(rows)} of {len(cases)} {what} handled wrongly", mismatch_table(rows, len(cases)))
    return passed(f"all {len(cases)} {what} handled correctly")


def _register(rows) -> None:
    """One check per row: (id, title, points, skill, criterion, probe = group of cases, what, dimension[, lenient])."""
    for check_id, title, points, skill, criterion, group, what, dimension, *lenient in rows:
        def judge(records, data, group=group, what=what, lenient=bool(lenient)):
            """Each case's outcome against the contract."""
            return _judge(records, getattr(data, group), what, lenient_event=lenient)

        grader.check(check_id, title=title, points=points, skill=skill, dimension=dimension, criterion=criterion,
                     probe=group)(judge)


_SEC, _API = Dimension.SECURITY, Dimension.API_DATA
_register([
    ("accepts-valid-delivery", "Valid deliveries are accepted", 10, "hmac-signatures", 1, "valid",
     "validly signed, fresh deliveries", _API),
    ("header-parsing", "Signature header parsed as specified", 7, "http-headers", 1, "header_parsing",
     "signature headers (name case, spacing, extra schemes, rotation, malformed)", _API),
    ("signs-raw-body", "Signature checked over the raw body bytes", 10, "hmac-signatures", 2, "raw_body",
     "deliveries whose bytes differ from a re-serialised copy", _SEC, True),
    ("rejects-bad-signature", "Forged or mismatched signatures are refused", 10, "hmac-signatures", 3,
     "bad_signature", "deliveries with a wrong signature", _SEC),
    ("rejects-stale-timestamp", "Timestamps outside the tolerance window are refused", 10, "replay-protection", 4,
     "stale", "deliveries around the edges of the tolerance window", _SEC),
    ("rejects-replay", "A delivery ID already seen is refused", 7, "replay-protection", 5, "replay",
     "redeliveries checked against the replay store", _SEC),
])


@grader.check("records-delivery-id", title="Only accepted deliveries are recorded", points=6, skill="replay-protection",
              dimension=Dimension.INTEGRATION, criterion=5, probe="records")
def check_records(records, data):
    """seen_ids after each call (watched in the child): the ID appended on acceptance only."""
    rows = []
    judged = 0
    for record, case in zip(records, data.records):
        got = _outcome(record)
        accepted_expected = not isinstance(case.expect, str)
        if (got[0] == "accepted") != accepted_expected or got[0] == "error":
            continue  # wrongly accepted or rejected: the check about that reason owns it
        judged += 1
        after = list(record.args_after[4]) if record.args_after and len(record.args_after) > 4 else None
        want = list(case.seen) + ([case.expect["id"]] if accepted_expected else [])
        if after != want:
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
    if source is None:
        return failed(f"{MODULE}.py could not be read as UTF-8 text")
    findings = constant_time_findings(source, ("verify_webhook", "validate_jwt"))
    if not findings:
        return passed("verify_webhook and validate_jwt compare signatures with hmac.compare_digest")
    return failed(findings[0] + " (read from your source, not run)", "\n".join(findings[:4]))


_register([
    ("jwt-accepts-valid", "Valid HS256 tokens return their claims", 8, "jwt-validation", 7, "jwt_valid",
     "valid tokens", _API),
    ("jwt-rejects-bad-signature", "Forged and malformed tokens are refused", 5, "jwt-validation", 7,
     "jwt_bad_signature", "forged or malformed tokens", _SEC),
    ("jwt-time-claims", "exp and nbf enforced with leeway", 6, "jwt-validation", 8, "jwt_time",
     "tokens around exp/nbf and the leeway", _SEC),
    ("jwt-issuer", "Tokens from another issuer are refused", 3, "jwt-validation", 9, "jwt_issuer",
     "tokens with a wrong or missing iss", _SEC),
    ("jwt-audience", "Tokens for another audience are refused", 4, "jwt-validation", 9, "jwt_audience",
     "tokens with a wrong or missing aud", _SEC),
    ("jwt-algorithm-pinned", "alg none and other algorithms are refused", 6, "jwt-validation", 10, "jwt_alg",
     "tokens whose header names another algorithm", _SEC),
])
