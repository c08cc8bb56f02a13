"""The grader's CRM for api-sync: hidden accounts and credentials, the legacy ``page`` parameter, and the scenes.

``GradingCrm`` is the mock CRM with three differences the checks need:

- its accounts come from a hidden seed and their ids have gaps, because ids
  are not issued in order; ``insert_rows`` (the InsertRowsBeforeFetch fault)
  fills the lowest gaps, so accounts created during a sync land *behind* a
  cursor. A cursor client neither loses nor repeats anything; a client that
  pages by page number sees the rows it already had shift into the next page.
  (The stock CRM appends new rows at the end, where page numbers do no harm.)
- it still answers the legacy ``?page=N`` the README mentions;
- ``GET /v1/accounts/{id}`` refuses a malformed id with 400 and a merged
  account with 422, so the three "never retry" statuses all occur.
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
    Nth,
    RateLimited,
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
from .._http_support import Played

LIST = "GET /v1/accounts"
MODULE = "sync"

SCENARIOS = {
    "happy": Scenario("happy"),
    "growing": Scenario("growing", (on(LIST, InsertRowsBeforeFetch(2), when=Nth(2, 4)),)),
    "token-expiry": Scenario("token-expiry", (on(LIST, ExpireToken(), when=Nth(3)),)),
    "token-revoked": Scenario("token-revoked", (on(LIST, ExpireToken(), when=From(2)),)),
    "throttled": Scenario("throttled", (
        on(LIST, RateLimited(30, "seconds"), when=Nth(2)),
        on(LIST, RateLimited(12, "http-date"), when=Nth(4)),
        on(LIST, ServerError(503, retry_after=7), when=Nth(6)),
    )),
    # Page 2 fails five times in a row (the last allowed attempt succeeds), then single faults.
    "flaky": Scenario("flaky", (
        on(LIST, ServerError(500), when=Nth(2, 5, 12)),
        on(LIST, ServerError(502), when=Nth(3, 6)),
        on(LIST, ServerError(503), when=Nth(4, 8)),
        on(LIST, Slow(90), when=Nth(10)),
    )),
    "outage": Scenario("outage", (on(LIST, ServerError(503), when=From(3)),)),
    "client-errors": Scenario("client-errors"),
}
SLOW_SECONDS = 90


@dataclass(frozen=True)
class Hidden:
    """What the grader knows that the learner does not: accounts seed, credentials, settings, ids to fetch."""

    seed: int
    client_id: str
    client_secret: str
    settings: tuple  # (key, value) pairs of the config besides url and credentials
    fetch_ids: tuple[str, ...]
    refused: tuple[tuple[str, int], ...]  # (id, status the CRM answers)
    merged: tuple[str, ...]

    @property
    def config(self) -> dict:
        return dict(self.settings)

    def config_for(self, url: str) -> dict:
        return {"base_url": url, "client_id": self.client_id, "client_secret": self.client_secret, **self.config}


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
    picked = rng.sample(accounts[5:], 5)
    good, merged = [a["id"] for a in picked[:4]], picked[4]["id"]
    unknown = [f"acc_{n:05d}" for n in rng.sample(gaps[5:], 2)]
    malformed = f"acc_{rng.randint(10, 99)}"
    refused = tuple([(u, 404) for u in unknown] + [(malformed, 400), (merged, 422)])
    fetch_ids = good + [u for u, _ in refused]
    rng.shuffle(fetch_ids)
    settings = (("page_size", 7), ("timeout", 15), ("max_attempts", 6), ("backoff_base", 1.0), ("backoff_cap", 8.0))
    return Hidden(seed, f"crm-sync-{rng.randrange(16**6):06x}", f"sync-secret-{rng.randrange(16**24):024x}",
                  settings, tuple(fetch_ids), refused, (merged,))


def grading_crm(data: Hidden):
    """A CRM class with the hidden credentials (TokenIssuer reads them from the class)."""

    class Crm(GradingCrm):
        credentials = Credentials(data.client_id, data.client_secret, ("accounts:read",))
        merged = frozenset(data.merged)

    return Crm


class GradingCrm(CrmService):
    """The CRM the grader serves; see the module docstring."""

    merged: frozenset = frozenset()

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
        if not ACCOUNT_ID.fullmatch(wanted):
            return problem(400, "invalid-parameter", f"{wanted!r} is not an account id (acc_ and five digits)",
                           call.request, invalid_params=[{"name": "id", "reason": "must match acc_[0-9]{5}"}])
        if wanted in self.merged:
            return problem(422, "account-merged", f"account {wanted} was merged into another account and can no "
                           "longer be read; ask the data steward for the surviving id", call.request)
        return super()._get(call)
