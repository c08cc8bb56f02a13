"""The grader's CRM for api-sync: hidden accounts and credentials, the scenes, and what each edge class is.

``GradingCrm`` is the mock CRM with the differences the checks need:

- its accounts come from a hidden seed and their ids have gaps, because ids
  are not issued in order; ``insert_rows`` (the InsertRowsBeforeFetch fault)
  fills the lowest gaps, so accounts created during a sync land *behind* a
  cursor. A cursor client neither loses nor repeats anything; a client that
  pages by page number sees the rows it already had shift into the next page.
  (The stock CRM appends new rows at the end, where page numbers do no harm.)
- it still answers the legacy ``?page=N`` the README mentions;
- ``GET /v1/accounts/{id}`` refuses a malformed id with 400, a merged account
  with 422, a deleted one with a 410 whose problem has a title and no
  detail, and an id the web application firewall in front of it blocks with
  an empty 403: every way a CRM explains itself is met by the failure list.

Each scene is one scenario plus the config its run gets (``Scene``): most
share the hidden settings; "single-shot" allows one attempt per request and
"token-refused" carries a client secret the CRM has rotated.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple

from mock_services import (
    Credentials,
    ExpireToken,
    From,
    InsertRowsBeforeFetch,
    MalformedBody,
    Nth,
    Scenario,
    ServerError,
    Slow,
    on,
)
from mock_services.messages import Response, json_response
from mock_services.pagination import DEFAULT_LIMIT, MAX_LIMIT, list_object
from mock_services.problems import problem
from mock_services.routing import Call
from mock_services.services.crm import ACCOUNT_ID, CrmService, generate_accounts

from ...evidence import show
from .._http_support import Answer, DropBeforeAnswer, LowercaseHeaders, PerKey, Played, Throttle

LIST = "GET /v1/accounts"
ONE = "GET /v1/accounts/{id}"
TOKEN = "POST /oauth/token"
MODULE = "sync"
# Held this long (virtual), 16 times the timeout: a client with a timeout hangs up long before, however loaded
# the machine; one without waits it out (1.9 s real, MAX_REAL_STALL caps the hold).
SLOW_SECONDS = 190
GATEWAY_TEXT = b"upstream connect error or disconnect/reset before headers. reset reason: overflow"
ATTEMPTS_DROPPED = 6  # the dropped account's connection closes this many times, then it answers

# Roles of the ids fetch_accounts is given: what the CRM does with each.
GOOD, UNKNOWN, MALFORMED, MERGED, DELETED, BLOCKED, JOINED = "good", "unknown", "malformed", "merged", "deleted", \
    "blocked", "joined"
TRANSIENT, SLOW, THROTTLED, EXPIRED, DROPPED = "transient", "slow", "throttled", "expired", "dropped"
READABLE = (GOOD, TRANSIENT, SLOW, THROTTLED, EXPIRED)


def _fetch_faults(roles) -> PerKey:
    """The single-account faults, by account: each fault meets a request for one account, whatever the order."""
    plan = {TRANSIENT: (Nth(1), (ServerError(503),)), SLOW: (Nth(1), (Slow(SLOW_SECONDS),)),
            THROTTLED: (Nth(1), (Throttle(6),)), EXPIRED: (Nth(1), (ExpireToken(),)),
            DROPPED: (Nth(*range(1, ATTEMPTS_DROPPED + 1)), (DropBeforeAnswer(),))}
    return PerKey(tuple((account, *plan[role]) for account, role in roles if role in plan),
                  key=lambda call: call.params.get("id"))


def scenarios(roles) -> dict[str, Scenario]:
    """Every scene's scenario; ``roles`` places the single-account faults."""
    return {
        "happy": Scenario("happy"),
        "growing": Scenario("growing", (on(LIST, InsertRowsBeforeFetch(2), when=Nth(2, 4)),)),
        # The refresh after the expiry meets a 503 at the token endpoint; every header name arrives in lower case.
        "token-expiry": Scenario("token-expiry", (
            on(LIST, ExpireToken(), when=Nth(3)),
            on(TOKEN, Answer(503, b"the authorization server is restarting", slug="service-unavailable"),
               when=Nth(2)),
            on(LIST, LowercaseHeaders()), on(TOKEN, LowercaseHeaders()),
        )),
        "token-revoked": Scenario("token-revoked", (on(LIST, ExpireToken(), when=From(2)),)),
        "token-refused": Scenario("token-refused"),  # the config's secret was rotated: 401 invalid_client
        # Every form of Retry-After: seconds, HTTP-date, on 429 and 503, padded, lower-case name, a date
        # already past (the server's clock is behind), zero; and a 429 at the token endpoint first.
        "throttled": Scenario("throttled", (
            on(TOKEN, Throttle(5), when=Nth(1)),
            on(LIST, Throttle(30), when=Nth(2)),
            on(LIST, Throttle(12, form="http-date"), when=Nth(4)),
            on(LIST, Throttle(7, status=503), when=Nth(6)),
            on(LIST, Throttle(4, pad="  "), when=Nth(8)),
            on(LIST, Throttle(-30, form="http-date"), when=Nth(10)),
            on(LIST, Throttle(9, status=503, form="http-date", name="retry-after"), when=Nth(12)),
            on(LIST, Throttle(0), when=Nth(14)),
        )),
        # Page 2 fails five times in a row (the last allowed attempt succeeds); then one fault per page,
        # the rarest last, so a client that mishandles one still meets the others first. The timeout is the
        # token request's (a page times out in single-shot, an account in client-errors: each costs real time).
        "flaky": Scenario("flaky", (
            on(TOKEN, Slow(SLOW_SECONDS), when=Nth(1)),
            on(LIST, ServerError(500), when=Nth(2, 5)),
            on(LIST, ServerError(502), when=Nth(3, 6)),
            on(LIST, ServerError(503), when=Nth(4, 14)),
            on(LIST, MalformedBody(), when=Nth(8)),
            on(LIST, DropBeforeAnswer(), when=Nth(10)),
            on(LIST, Answer(504, b"the upstream system did not answer in time", slug="gateway-timeout"),
               when=Nth(12)),
        )),
        "outage": Scenario("outage", (
            on(LIST, Answer(503, GATEWAY_TEXT, (("Content-Type", "text/plain"),)), when=From(3)),)),
        "single-shot": Scenario("single-shot", (on(LIST, Slow(SLOW_SECONDS), when=Nth(3)),)),
        "client-errors": Scenario("client-errors", (on(ONE, _fetch_faults(roles)),)),
    }


SCENES = ("happy", "growing", "token-expiry", "token-revoked", "token-refused", "throttled", "flaky", "outage",
          "single-shot", "client-errors")
FETCH_SCENES = ("client-errors",)  # run fetch_accounts; the others sync_accounts


@dataclass(frozen=True)
class Hidden:
    """What the grader knows that the learner does not: accounts seed, credentials, settings, ids to fetch."""

    seed: int
    client_id: str
    client_secret: str
    rotated_secret: str  # what "token-refused" sends: a secret the CRM no longer accepts
    settings: tuple  # (key, value) pairs of the config besides url and credentials
    roles: tuple[tuple[str, str], ...]  # (account id, role) in the order fetch_accounts gets them

    @property
    def config(self) -> dict:
        return dict(self.settings)

    @property
    def fetch_ids(self) -> tuple[str, ...]:
        return tuple(account for account, _ in self.roles)

    def ids(self, *roles: str) -> tuple[str, ...]:
        return tuple(account for account, role in self.roles if role in roles)

    @property
    def scenarios(self) -> dict[str, Scenario]:
        return scenarios(self.roles)

    def config_for(self, url: str, scene: str = "happy") -> dict:
        config = {"base_url": url, "client_id": self.client_id, "client_secret": self.client_secret, **self.config}
        if scene == "single-shot":
            config["max_attempts"] = 1  # the boundary: no retry at all
        if scene == "token-refused":
            config["client_secret"] = self.rotated_secret
        return config


class Sync(NamedTuple):
    """One scene's evidence: the run, and the CRM's accounts before and after it."""

    played: Played
    before: tuple
    after: tuple


def result(played: Played):
    """(records, failures, None) from a run, or (None, None, why there are none)."""
    if played.stopped:
        return None, None, f"the run was stopped: {played.stopped}"
    if not played.call.ok:
        return None, None, played.call.problem()
    value = played.value
    if not isinstance(value, dict) or not isinstance(value.get("records"), list) \
            or not isinstance(value.get("failures"), list):
        return None, None, f"expected {{'records': [...], 'failures': [...]}}, got {show(value, 80)}"
    return value["records"], value["failures"], None


def hidden_accounts(seed: int) -> list[dict]:
    """The CRM's accounts for ``seed``: generated like the stock CRM's, renumbered with gaps."""
    rng = random.Random(f"api-sync-ids:{seed}")
    number = rng.randint(3, 6)
    accounts = []
    for account in generate_accounts(seed)[:50]:
        accounts.append({**account, "id": f"acc_{number:05d}"})
        number += rng.randint(2, 5)
    return accounts


def make_hidden(rng: random.Random) -> Hidden:
    seed = rng.randrange(10**6)
    accounts = hidden_accounts(seed)
    taken = {int(a["id"][4:]) for a in accounts}
    top = int(accounts[-1]["id"][4:])
    gaps = [n for n in range(1, top) if n not in taken]
    picked = [a["id"] for a in rng.sample(accounts[5:], 12)]
    unknown = [f"acc_{n:05d}" for n in rng.sample(gaps[5:], 2)]
    roles = [(a, r) for a, r in zip(picked, (GOOD, GOOD, GOOD, MERGED, DELETED, BLOCKED, TRANSIENT, SLOW,
                                             THROTTLED, EXPIRED, DROPPED))]
    # A short id, and two ids pasted into one: each must reach the CRM as one path segment.
    roles += [(u, UNKNOWN) for u in unknown] + [(f"acc_{rng.randint(10, 99)}", MALFORMED),
                                                (f"{picked[-1]}/{picked[0]}", JOINED)]
    rng.shuffle(roles)
    settings = (("page_size", 7), ("timeout", 12), ("max_attempts", 6), ("backoff_base", 1.0), ("backoff_cap", 8.0))
    return Hidden(seed, f"crm-sync-{rng.randrange(16**6):06x}", f"sync-secret-{rng.randrange(16**24):024x}",
                  f"sync-secret-{rng.randrange(16**24):024x}", settings, tuple(roles))


def grading_crm(data: Hidden):
    """A CRM class with the hidden credentials (TokenIssuer reads them from the class)."""

    class Crm(GradingCrm):
        credentials = Credentials(data.client_id, data.client_secret, ("accounts:read",))
        merged = frozenset(data.ids(MERGED))
        deleted = frozenset(data.ids(DELETED))
        blocked = frozenset(data.ids(BLOCKED))

    return Crm


class GradingCrm(CrmService):
    """The CRM the grader serves; see the module docstring."""

    merged: frozenset = frozenset()
    deleted: frozenset = frozenset()
    blocked: frozenset = frozenset()

    def reset_state(self) -> None:
        self._accounts = hidden_accounts(self.seed)
        self._inserted = 0

    def insert_rows(self, count: int) -> None:
        """Create ``count`` accounts in the lowest free ids, so they sort before existing ones."""
        with self.state_lock:
            taken = {int(a["id"][4:]) for a in self._accounts}
            free = (n for n in range(1, 100_000) if n not in taken)
            for _ in range(count):
                self._inserted += 1
                template = generate_accounts(self.seed + 7919 * self._inserted)[0]
                account = {**template, "id": f"acc_{next(free):05d}", "updated_at": self.clock.isoformat()}
                self._accounts.append(account)
            self._accounts.sort(key=lambda a: a["id"])

    def _list(self, call: Call) -> Response:
        raw = call.request.param("page")
        if raw is None:
            return super()._list(call)
        # The legacy page-number interface: page N is rows (N-1)*limit .. N*limit of the list as it is now.
        raw_limit = call.request.param("limit")
        limit = DEFAULT_LIMIT if raw_limit is None else int(raw_limit) if raw_limit.isdigit() else 0
        if not raw.isdigit() or int(raw) < 1 or not 1 <= limit <= MAX_LIMIT:
            return problem(400, "invalid-parameter", "page must be a positive integer and limit 1 to 100",
                           call.request)
        with self.state_lock:
            rows = list(self._accounts)
        start = (int(raw) - 1) * limit
        return json_response(200, list_object("/v1/accounts", rows[start:start + limit], start + limit < len(rows)))

    def _get(self, call: Call) -> Response:
        wanted = call.params["id"]
        if wanted in self.blocked:  # the firewall in front of the CRM: no body, only the reason phrase
            return Response(403, (), b"")
        if not ACCOUNT_ID.fullmatch(wanted):
            return problem(400, "invalid-parameter", f"{wanted!r} is not an account id (acc_ and five digits)",
                           call.request, invalid_params=[{"name": "id", "reason": "must match acc_[0-9]{5}"}])
        if wanted in self.merged:
            return problem(422, "account-merged", f"account {wanted} was merged into another account and can no "
                           "longer be read; ask the data steward for the surviving id", call.request)
        if wanted in self.deleted:
            return Answer(410, slug="account-deleted", title_only=True).before(call, self)
        return super()._get(call)
