"""The CRM: an accounts API behind OAuth 2.0 client credentials, cursor-paginated.

    POST /oauth/token             client credentials (RFC 6749 section 4.4)
    GET  /v1/accounts             list, ``limit`` + ``starting_after`` (scope accounts:read)
    GET  /v1/accounts/{id}        one account

Accounts are generated from the seed: the same seed gives the same
accounts, a different seed a different count and different values, so a
submission that hard-codes the visible data earns nothing.
"""

from __future__ import annotations

import copy
import random
import re
from datetime import UTC, datetime
from typing import Any

from ..faults import (
    ExpireToken,
    InsertRowsBeforeFetch,
    MalformedBody,
    RateLimited,
    RenameField,
    ServerError,
    Slow,
)
from ..messages import Response, json_response
from ..oauth import Credentials
from ..openapi import (
    correlation_parameter,
    document,
    json_content,
    problem_responses,
    ref,
)
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate
from ..problems import problem
from ..routing import Call, Route
from ..scenario import Chance, Every, From, Nth, Scenario, on
from ..service import MockService

__all__ = ["CrmService", "generate_accounts"]

ACCOUNT_ID = re.compile(r"acc_[0-9]{5}")
LIST = "GET /v1/accounts"
ONE = "GET /v1/accounts/{id}"

_PREFIXES = (
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wingtip",
    "Litware",
    "Proseware",
    "Lucerne",
    "Coho",
    "Alpine",
    "Blue Yonder",
    "Fourth Coffee",
    "Humongous",
    "Trey",
    "Wide World",
    "Woodgrove",
    "Southridge",
    "Relecloud",
    "Adatum",
    "Margie's",
)
_SUFFIXES = ("Traders", "Logistics", "Foods", "Airlines", "Bank", "Publishing", "Energy", "Health", "Retail", "Systems")
_STATUSES = ("active", "active", "active", "inactive", "prospect", "churned")  # weighted: mostly active
_MAILBOXES = ("ap", "billing", "ops", "accounts", "finance")
# Country code, and the start of an E.164 number from each country's drama/fiction range.
_COUNTRIES = (
    ("GB", "+4420794600"),
    ("US", "+1202555001"),
    ("DE", "+4930901820"),
    ("FR", "+33199001"),
    ("NL", "+3120555010"),
    ("IE", "+35315550"),
)
_YEAR_START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def _account(rng: random.Random, number: int, updated_at: float | None = None) -> dict[str, Any]:
    name = f"{rng.choice(_PREFIXES)} {rng.choice(_SUFFIXES)}"
    country, phone_prefix = rng.choice(_COUNTRIES)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    stamp = updated_at if updated_at is not None else _YEAR_START + rng.randrange(365 * 24 * 3600)
    return {
        "id": f"acc_{number:05d}",
        "name": name,
        "status": rng.choice(_STATUSES),
        "country": country,
        "email": f"{rng.choice(_MAILBOXES)}@{slug}.example",  # .example is reserved: never a real mailbox
        "phone": phone_prefix + f"{rng.randrange(100):02d}",
        "updated_at": datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def generate_accounts(seed: int) -> list[dict[str, Any]]:
    """Return the seed's accounts: 40 to 70 of them, sorted by id."""
    rng = random.Random(f"crm-accounts:{seed}")
    return [_account(rng, number) for number in range(1, 41 + rng.randrange(31))]


_SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("happy", (), "everything works"),
        Scenario(
            "flaky",
            (
                on(LIST, ServerError(503, retry_after=2), when=Nth(2)),
                on(LIST, ServerError(500), when=Nth(4)),
                on(LIST, ServerError(502), when=Nth(5)),
                on(LIST, MalformedBody(), when=Nth(7)),
                on(LIST, ServerError(503), when=Chance(0.1)),
                on(ONE, ServerError(503, retry_after=1), when=Every(3)),
            ),
            "intermittent 5xx and a truncated body; retry with backoff",
        ),
        Scenario(
            "throttled",
            (
                on(LIST, RateLimited(30, "seconds"), when=Nth(2, 3)),
                on(LIST, RateLimited(10, "http-date"), when=Nth(5)),
                on(ONE, RateLimited(5, "seconds"), when=Every(4)),
            ),
            "429 with Retry-After as seconds and as an HTTP-date; honour it",
        ),
        Scenario(
            "token-expiry",
            (on(LIST, ExpireToken(), when=Nth(3)), on(ONE, ExpireToken(), when=Nth(2))),
            "the access token expires mid-run; get a new one and retry",
        ),
        Scenario(
            "drift",
            (
                on(LIST, RenameField("email", "email_address"), when=From(2)),
                on(ONE, RenameField("email", "email_address")),
            ),
            "from the second page on, 'email' arrives as 'email_address'",
        ),
        Scenario("slow", (on(LIST, Slow(60), when=Nth(2)),), "the second page takes 60 s; set a timeout and retry"),
        Scenario(
            "growing",
            (on(LIST, InsertRowsBeforeFetch(3), when=Nth(2, 4)),),
            "accounts are created while you page; follow the cursor to the end",
        ),
    )
}


class CrmService(MockService):
    """The CRM accounts API."""

    name = "crm"
    summary = "CRM accounts API: OAuth 2.0 client credentials, cursor pagination"
    credentials = Credentials("crm-lab-client", "crm-lab-secret-4f9c2e", ("accounts:read",))
    default_port = 8701
    named_scenarios = _SCENARIOS

    def routes(self) -> list[Route]:
        """Return the accounts routes."""
        return [
            Route("GET", "/v1/accounts", self._list, "listAccounts", scope="accounts:read"),
            Route("GET", "/v1/accounts/{id}", self._get, "getAccount", scope="accounts:read"),
        ]

    def reset_state(self) -> None:
        """Regenerate the accounts from the seed."""
        self._accounts = generate_accounts(self.seed)
        self._inserted = 0

    def accounts(self) -> tuple[dict[str, Any], ...]:
        """Return every account as it stands now (what a complete fetch must return)."""
        with self.state_lock:
            return tuple(copy.deepcopy(self._accounts))

    def insert_rows(self, count: int) -> None:
        """Create ``count`` accounts at the end of the id order, updated now."""
        with self.state_lock:
            for _ in range(count):
                self._inserted += 1
                rng = random.Random(f"crm-insert:{self.seed}:{self._inserted}")
                number = int(self._accounts[-1]["id"][4:]) + 1 if self._accounts else 1
                self._accounts.append(_account(rng, number, updated_at=self.clock.now()))

    def _list(self, call: Call) -> Response:
        with self.state_lock:
            rows = list(self._accounts)
        return paginate(rows, call.request, "/v1/accounts", ACCOUNT_ID)

    def _get(self, call: Call) -> Response:
        wanted = call.params["id"]
        with self.state_lock:
            found = next((a for a in self._accounts if a["id"] == wanted), None)
        if found is None:
            return problem(404, "not-found", f"no account {wanted!r}", call.request)
        return json_response(200, found)

    def openapi(self, base_url: str | None = None) -> dict[str, Any]:
        """Return the CRM's OpenAPI 3.0.3 document."""
        account_id = {"type": "string", "pattern": f"^{ACCOUNT_ID.pattern}$", "example": "acc_00017"}
        listing = {
            "get": {
                "operationId": "listAccounts",
                "summary": "List accounts, oldest id first, one page at a time",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "Page size",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                    },
                    {
                        "name": "starting_after",
                        "in": "query",
                        "required": False,
                        "description": "The id of the last account of the previous page",
                        "schema": account_id,
                    },
                    correlation_parameter(),
                ],
                "responses": {
                    "200": {"description": "One page of accounts", "content": json_content(ref("AccountList"))},
                    **problem_responses(400),
                },
            }
        }
        single = {
            "get": {
                "operationId": "getAccount",
                "summary": "Get one account",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": account_id},
                    correlation_parameter(),
                ],
                "responses": {
                    "200": {"description": "The account", "content": json_content(ref("Account"))},
                    **problem_responses(400, 404),
                },
            }
        }
        schemas = {
            "Account": {
                "type": "object",
                "required": ["id", "name", "status", "country", "email", "phone", "updated_at"],
                "additionalProperties": False,
                "properties": {
                    "id": account_id,
                    "name": {"type": "string"},
                    "status": {"type": "string", "enum": sorted(set(_STATUSES))},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"},
                    "email": {"type": "string", "format": "email"},
                    "phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "description": "E.164"},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
            "AccountList": {
                "type": "object",
                "required": ["object", "url", "data", "has_more"],
                "additionalProperties": False,
                "properties": {
                    "object": {"type": "string", "enum": ["list"]},
                    "url": {"type": "string"},
                    "data": {"type": "array", "items": ref("Account")},
                    "has_more": {"type": "boolean"},
                },
            },
        }
        description = "Fake CRM for iclab labs. Get a token with client credentials, then page with starting_after."
        paths = {"/v1/accounts": listing, "/v1/accounts/{id}": single}
        return document("iclab CRM", description, self.credentials, paths, schemas, base_url)  # type: ignore[arg-type]
