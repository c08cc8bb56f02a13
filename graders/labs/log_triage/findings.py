"""Judge findings.toml, the learner's triage of the visible bundle, field by field and exactly.

What a machine can judge is structured and judged exactly, per incident: the
root-cause ``category`` and the ``next_step_kind`` (each from a taxonomy the
ticket states), ``replay_safe``, and the ``evidence`` as a set of cited lines
(each citation must name a line of the incident's transactions by
correlation ID, UTC timestamp and source; every key line must be cited).
The prose (``next_step``, ``mitigation``, ``replay_why``, each citation's
``note``) is for the person who acts on the file and is never keyword-scored;
only the secret check reads it.

The incidents are the visible bundle's (fixtures/log-triage), so the key is
about fixed data; it stays in the grader, which learners cannot read. Every
miss gets one line saying what is wrong and where to look, without handing
over the answer.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ...checks import Outcome, failed, partial, passed

__all__ = ["CATEGORIES", "NEXT_STEP_KINDS", "SOURCES", "KEY", "SECRETS", "Answer", "load", "category", "evidence",
           "next_step_kind", "replay", "no_secrets"]

CATEGORIES = ("auth_credentials", "rate_limited", "target_server_error", "timeout", "contract_change",
              "data_quality", "unsafe_replay")
NEXT_STEP_KINDS = ("check_credentials", "check_quota", "escalate_to_target_owner", "check_target_state",
                   "check_source_record", "compare_contract", "check_connectivity")
SOURCES = ("runtime", "gateway", "erp")


@dataclass(frozen=True)
class Answer:
    """One incident's key: category, next-step kind, replay verdict, its lines and clues for misses."""

    category: str
    next_step_kind: str
    replay_safe: bool
    lines: frozenset[tuple[str, int, str]]  # every line of the incident's transactions: (cid, UTC ms, source)
    key: frozenset[tuple[str, int, str]]    # the key lines the ticket's citation rules select
    clue: str
    step_clue: str
    replay_clue: str


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _ms(text: str) -> int:
    return (datetime.fromisoformat(text) - _EPOCH) // timedelta(milliseconds=1)


def _answer(category: str, step: str, safe: bool, table: str, clue: str, step_clue: str, replay_clue: str) -> Answer:
    """An Answer from a table of the incident's lines, one per row: ``[*] cid HH:MM:SS.mmm source``.

    ``*`` marks a key line: WARN or ERROR, an erp.log 201, or the request of a replay.
    tests/labs/test_log_triage.py proves the table against the visible bundle and the rules.
    """
    lines, key = set(), set()
    for row in table.strip().splitlines():
        star = row.lstrip().startswith("*")
        cid, clock, source = row.replace("*", " ").split()
        line = (cid, _ms(f"2024-11-05T{clock}+00:00"), source)
        lines.add(line)
        if star:
            key.add(line)
    return Answer(category, step, safe, frozenset(lines), frozenset(key), clue, step_clue, replay_clue)


KEY = {
    "INC-1": _answer("target_server_error", "escalate_to_target_owner", True, """
  c-4b9d07a3 07:15:02.048 runtime
* c-4b9d07a3 07:15:02.703 erp
* c-4b9d07a3 07:15:02.779 runtime""",
        "read the ERP's own line for CRM-10482: which system threw the exception, and was the request itself invalid?",
        "the ERP failed inside its own code: who can read its stack trace?",
        "the ERP says what happened to the transaction after the exception"),
    "INC-2": _answer("data_quality", "check_source_record", True, """
  c-19f7b2e4 07:30:01.870 runtime
* c-19f7b2e4 07:30:02.272 erp
* c-19f7b2e4 07:30:02.336 runtime""",
        "only this one order failed, on the value of one field; orders from the same poll went through",
        "the ERP named the field and the value it refused: where does that value come from?",
        "a 422 rejection: did the ERP keep anything?"),
    "INC-3": _answer("timeout", "check_target_state", False, """
  c-c2e860d7 07:30:02.513 runtime
  c-c2e860d7 07:30:02.534 runtime
  c-c2e860d7 07:30:02.811 erp
* c-c2e860d7 07:30:32.537 runtime
* c-c2e860d7 07:30:41.153 erp
* c-c2e860d7 07:30:43.430 erp""",
        "the runtime gave up after 30 s; compare with what the ERP logged for the same correlation ID afterwards",
        "the ERP did not fail; what must you know about CRM-10487 before anyone touches the message?",
        "what did the ERP log after the runtime gave up?"),
    "INC-4": _answer("rate_limited", "check_quota", False, """
  c-b8035e7c 07:45:03.115 runtime
* c-b8035e7c 07:45:03.726 erp
  c-b8035e7c 07:45:03.817 runtime
* c-b8035e7c 07:45:04.000 gateway
* c-b8035e7c 07:45:04.151 runtime
* c-b8035e7c 07:45:05.000 gateway
* c-b8035e7c 07:45:05.151 runtime
* c-b8035e7c 07:45:06.000 gateway
* c-b8035e7c 07:45:06.163 runtime
  c-93c1d6a8 07:45:05.240 runtime
* c-93c1d6a8 07:45:05.851 erp
  c-93c1d6a8 07:45:05.942 runtime
* c-93c1d6a8 07:45:06.000 gateway
* c-93c1d6a8 07:45:06.151 runtime
* c-93c1d6a8 07:45:07.000 gateway
* c-93c1d6a8 07:45:07.151 runtime
* c-93c1d6a8 07:45:08.000 gateway
* c-93c1d6a8 07:45:08.163 runtime""",
        "the ERP created both orders; look at what the gateway answered to the write-back and how fast the runtime retried",
        "the gateway refused calls that were valid: what limit did they hit, and who else was calling?",
        "a replay runs the whole flow again: what did the ERP already do for these orders?"),
    "INC-5": _answer("unsafe_replay", "check_target_state", False, """
  c-0a6f3e91 07:00:02.035 runtime
  c-0a6f3e91 07:00:02.053 runtime
  c-0a6f3e91 07:00:02.301 erp
* c-0a6f3e91 07:00:02.646 erp
  c-0a6f3e91 07:00:02.737 runtime
  c-0a6f3e91 07:00:03.000 gateway
  c-0a6f3e91 07:00:03.138 runtime
  c-7e12c5d8 07:00:04.517 runtime
* c-7e12c5d8 07:00:05.128 erp
  c-7e12c5d8 07:00:05.219 runtime
  c-7e12c5d8 07:00:06.000 gateway
  c-7e12c5d8 07:00:06.138 runtime
* c-aa31e07f 08:20:11.804 runtime
  c-5f8d2c64 08:20:12.210 runtime
  c-5f8d2c64 08:20:12.250 runtime
  c-5f8d2c64 08:20:12.268 runtime
* c-5f8d2c64 08:20:12.861 erp
  c-5f8d2c64 08:20:12.952 runtime
  c-5f8d2c64 08:20:14.000 gateway
  c-5f8d2c64 08:20:14.138 runtime
  c-0e97b3a5 08:20:14.087 runtime
  c-0e97b3a5 08:20:14.127 runtime
* c-0e97b3a5 08:20:14.738 erp
  c-0e97b3a5 08:20:14.829 runtime
  c-0e97b3a5 08:20:15.000 gateway
  c-0e97b3a5 08:20:15.138 runtime""",
        "look at who started work at 08:20 UTC, which messages it picked, and what the ERP did with order_refs it had seen",
        "before cleaning anything up: how many sales orders does each order_ref have now?",
        "the replayed orders exist twice already; what would one more replay do?"),
    "INC-6": _answer("contract_change", "compare_contract", True, """
  c-27e5f0b9 08:00:01.455 runtime
* c-27e5f0b9 08:00:01.461 runtime
* c-27e5f0b9 08:00:01.845 erp
* c-27e5f0b9 08:00:01.906 runtime
  c-f06b4a3d 08:00:02.318 runtime
* c-f06b4a3d 08:00:02.324 runtime
* c-f06b4a3d 08:00:02.708 erp
* c-f06b4a3d 08:00:02.769 runtime""",
        "every order since 08:00 UTC failed the same way, and the runtime warned about a field it had never seen",
        "the payload's shape changed for every order at once: what do you compare it with?",
        "a 400 rejection: did the ERP keep anything?"),
    "INC-7": _answer("auth_credentials", "check_credentials", True, """
  c-3c7b19e4 09:15:00.351 runtime
* c-3c7b19e4 09:15:01.000 gateway
* c-3c7b19e4 09:15:01.260 runtime
  c-f2a84d61 09:30:00.266 runtime
* c-f2a84d61 09:30:01.000 gateway
* c-f2a84d61 09:30:01.260 runtime""",
        "the polls fail at the token endpoint, before any order is read; check what changed at the gateway at 09:00 UTC",
        "the token endpoint refused our client: what do we send, and what does it accept since 09:00 UTC?",
        "the poll stopped at the token request: what reached the ERP?"),
}

# A few wrong answers deserve a sharper explanation than the clue.
TRAPS = {
    ("INC-7", "target_server_error"): "a 401 is the server refusing our credentials: it is working as designed",
    ("INC-6", "data_quality"): "one bad value is data quality; every order failing on the same missing field after a release is not",
    ("INC-2", "contract_change"): "the payload had the field; its value failed the ERP's validation",
    ("INC-3", "target_server_error"): "the ERP never returned an error; the runtime stopped waiting",
    ("INC-5", "timeout"): "nothing timed out at 08:20; someone re-sent messages that had succeeded",
    ("INC-4", "target_server_error"): "429 is not a server fault: the gateway is protecting a shared quota",
}

# Every secret in the visible bundle: the old client secret, the Basic credential, the bearer tokens' payloads and signatures.
SECRETS = ("Zk8qT3vLw9RmX2pA", "ZXJwLWluYm91bmQ6V2ludGVyMjAyNCE",
           "eyJzdWIiOiJlcnAtc3luYyIsImV4cCI6MTczMDc5MzYwMH0", "c2lnbmF0dXJlLW9uZS1mb3ItZXJwLXN5bmM",
           "eyJzdWIiOiJlcnAtc3luYyIsImV4cCI6MTczMDgwMDgwMH0", "c2lnbmF0dXJlLXR3by1mb3ItZXJwLXN5bmM")


# -- reading the file ---------------------------------------------------------
def load(record) -> tuple[dict | None, str]:
    """The parsed findings (or None) and, when None, a one-line reason."""
    if not record.ok:
        return None, f"findings.toml could not be read: {record.problem()}"
    if type(record.value) is not str:
        return None, f"findings.toml could not be read: the helper returned {type(record.value).__name__}"
    return _parse(record.value)


@functools.lru_cache(maxsize=2)  # several checks of one grading read the same file; checks never change a doc
def _parse(text: str) -> tuple[dict | None, str]:
    try:
        return tomllib.loads(text), ""
    except tomllib.TOMLDecodeError as exc:
        return None, f"findings.toml is not valid TOML: {exc}"


def _table(doc: dict, incident: str) -> dict:
    table = doc.get(incident)
    return table if isinstance(table, dict) else {}


def _judge(record, per_incident, what: str) -> Outcome:
    """Incidents right of seven: the reason counts them, the evidence gives one line per miss."""
    doc, problem = load(record)
    if doc is None:
        return failed(problem)
    right, judged, notes = 0, 0, []
    for incident, answer in KEY.items():
        verdict, note = per_incident(incident, _table(doc, incident), answer)
        if verdict is None:  # not judged here: the note says which check charges it
            notes.append(f"{incident}: {note}")
            continue
        judged += 1
        right += verdict
        if note:
            notes.append(f"{incident}: {note}")
    if judged == 0:
        return failed(f"{what}: no incident could be judged", "\n".join(notes))
    if right == judged:
        scope = f"all {judged} incidents" if judged == len(KEY) else f"all {judged} incidents judged here"
        return passed(f"{what} right for {scope}", "\n".join(notes))
    return partial(right / judged, f"{what}: {right} of {judged} incidents right", "\n".join(notes))


def _choice(table: dict, field: str, allowed: tuple[str, ...]) -> tuple[str | None, str]:
    """The field's value when it is one of ``allowed``, else None and why not."""
    if not table:
        return None, "no table for this incident"
    value = table.get(field)
    if value is None or value == "":
        return None, f"no {field} yet"
    if type(value) is not str:
        return None, f"{field} must be a string, found {type(value).__name__}"
    if value.strip() not in allowed:
        return None, f"{field} {value[:40]!r} is not one of: {', '.join(allowed)}"
    return value.strip(), ""


# -- the fields -----------------------------------------------------------------
def category(record) -> Outcome:
    def one(incident: str, table: dict, answer: Answer):
        chosen, why = _choice(table, "category", CATEGORIES)
        if chosen is None:
            return False, why
        if chosen == answer.category:
            return True, ""
        return False, f"not {chosen}: " + TRAPS.get((incident, chosen), answer.clue)
    return _judge(record, one, "root-cause category")


def next_step_kind(record) -> Outcome:
    """The next step is judged where the diagnosis is right: a wrong category is charged once, in its own check."""
    def one(incident: str, table: dict, answer: Answer):
        chosen, why = _choice(table, "next_step_kind", NEXT_STEP_KINDS)
        diagnosed, _ = _choice(table, "category", CATEGORIES)
        if table and diagnosed != answer.category:
            return None, "next_step_kind not judged: the category is not right yet (see findings-category)"
        if chosen is None:
            return False, why
        if chosen == answer.next_step_kind:
            return True, ""
        return False, f"not {chosen}: {answer.step_clue}"
    return _judge(record, one, "next diagnostic step")


def replay(record) -> Outcome:
    def one(incident: str, table: dict, answer: Answer):
        if not table:
            return False, "no table for this incident"
        safe = table.get("replay_safe")
        if type(safe) is not bool:
            return False, "replay_safe must be true or false"
        if safe != answer.replay_safe:
            return False, f"replay_safe = {str(safe).lower()} does not match the evidence: {answer.replay_clue}"
        return True, ""
    return _judge(record, one, "replay verdict")


def _instant(value) -> int | None:
    """Milliseconds since the epoch for a cited ts (text or TOML datetime); naive means UTC."""
    if type(value) is str:
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        millis, rest = divmod(value - _EPOCH, timedelta(milliseconds=1))  # exact: no float in between
    except OverflowError:
        return None
    return None if rest else millis


def _citation(entry) -> tuple[tuple[str, int, str] | None, str]:
    """The (cid, ms, source) an evidence entry names, or None and why it names no line."""
    if not isinstance(entry, dict):
        return None, f"an evidence entry is a {type(entry).__name__}, not a table"
    cid, ts, source = entry.get("correlation_id"), entry.get("ts"), entry.get("source")
    if type(cid) is not str or not cid.strip():
        return None, "an evidence entry has no correlation_id; without it nobody can find the line again"
    moment = _instant(ts)
    if moment is None:
        return None, f"{cid.strip()[:30]}: ts {str(ts)[:40]!r} is not a timestamp to the millisecond"
    if type(source) is not str or source.strip() not in SOURCES:
        return None, f"{cid.strip()[:30]}: source must be one of {', '.join(SOURCES)}"
    return (cid.strip(), moment, source.strip()), ""


def _stamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def evidence(record) -> Outcome:
    def one(incident: str, table: dict, answer: Answer):
        if not table:
            return False, "no table for this incident"
        entries = table.get("evidence")
        if not isinstance(entries, list) or not entries:
            return False, "no evidence entries"
        cited, problems = set(), []
        for entry in entries:
            line, why = _citation(entry)
            if line is None:
                problems.append(why)
            elif line not in answer.lines:
                problems.append(f"{line[0][:30]} at {_stamp(line[1])} in {line[2]} is not a line of this incident's "
                                "transactions (check the correlation ID, the UTC timestamp and the source)")
            else:
                cited.add(line)
        missing = len(answer.key - cited)
        if missing:
            problems.append(f"{missing} key line(s) not cited: every WARN or ERROR line of the incident's "
                            "transactions, every erp.log line with status 201, and the request of a replay")
        return not problems, "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    return _judge(record, one, "evidence")


def no_secrets(record) -> Outcome:
    doc, problem = load(record)
    if doc is None and (not record.ok or type(record.value) is not str):
        return failed(problem)
    leaked = [s for s in SECRETS if s in record.value]
    if leaked:
        return failed(f"findings.toml contains {len(leaked)} secret(s) copied from the logs; mask them as ***",
                      "a findings file goes into tickets and chat: a credential copied from a log line "
                      "(client_secret, Basic, Bearer) is a leaked credential")
    if doc is None:
        return failed(problem)
    cited = sum(len(_table(doc, i).get("evidence")) for i in KEY if isinstance(_table(doc, i).get("evidence"), list))
    if not cited:
        return failed("findings.toml cites no evidence yet, so there is nothing to judge")
    return passed("no secret from the logs appears in findings.toml")
