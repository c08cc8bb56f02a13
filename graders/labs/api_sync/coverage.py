"""api-sync's hidden data per acceptance criterion: the edge classes each criterion's checks meet, and where.

Scene names are world.SCENES (scenarios in world.scenarios); "ids" are the
roles make_hidden() gives the account ids fetch_accounts gets.
"""
from __future__ import annotations

COVERAGE = {
    1: ("one token for a whole sync of 8 pages, and on every request of it — happy",
        "the token request itself meets 429, a timeout and a 503 and is retried, still one token per run — "
        "throttled, flaky, token-expiry"),
    2: ("token expired mid-pagination (third page) and on one account read, the refresh itself meeting a 503 — "
        "token-expiry, client-errors (expired id)",
        "every token refused from the second page on: one refresh, then the request fails — token-revoked",
        "header names in lower case (www-authenticate) — token-expiry LowercaseHeaders"),
    3: ("accounts created behind the cursor twice during the sync, ids with gaps — growing, hidden_accounts()",
        "limit=page_size on every list request, nothing requested after has_more: false — growing and happy",
        "a last page of one account (50 accounts, pages of 7) — hidden_accounts(), settings"),
    4: ("Retry-After as delay-seconds and as HTTP-date, on 429 and on 503 — throttled",
        "a date already past (server clock behind), zero, trailing whitespace, a lower-case header name — throttled",
        "on a page, on one account and on the token endpoint — throttled, client-errors (throttled id)",
        "not earlier than asked and not more than 0.5 s later — timing.check_retry_after"),
    5: ("500, 502, 503, 504, a dropped connection and a 2xx body that is not JSON on pages, a timeout on the token — "
        "flaky",
        "five failures in a row so the wait reaches the cap and the last allowed attempt succeeds — flaky page 2",
        "the token endpoint (timeout, 503) and one account (503, timeout, six drops) — flaky, token-expiry, "
        "client-errors",
        "max_attempts on both sides: 6 used up by an outage and by six drops, 1 allowing no retry — outage, "
        "client-errors (dropped id), single-shot"),
    6: ("400 (malformed id, two ids pasted into one), 403 from a firewall, 404 twice, 410, 422 — client-errors ids",
        "401 invalid_client from the token endpoint (a rotated secret) — token-refused"),
    7: ("retries of a page keep their ID, every page and every account its own — flaky, client-errors",
        "an account read retried after 503, a timeout, a 429, a token refresh and six drops — client-errors ids"),
    8: ("a held token response, a held page and a held account read — flaky, single-shot, client-errors",
        "a timeout with max_attempts 1: the request fails at once — single-shot"),
    9: ("the client secret, the Basic credentials, every token issued (whole or in part), the rotated secret — "
        "logs._needles over all ten scenes",
        "log records, printed lines and the child's own output, records sent at emit time — Stage log.record"),
    10: ("failures after a JSON problem (detail), a title-only problem (410), an OAuth error (error_description), "
         "a text 503 from a gateway, an empty 403 (reason phrase), a timeout and a closed connection — "
         "client-errors, outage, single-shot, token-refused",
         "a page failure with its query and the records fetched before it; a 401 after a refresh (attempts not "
         "counting the resend) — outage, single-shot, token-revoked",
         "an id with '/' reaches the CRM as one URL-encoded segment — client-errors (joined id)",
         "on a healthy CRM: every record canonical, in order, failures empty — happy"),
    11: ("a record per page — happy",
         "a record per retry with its correlation ID and the wait (backoff, Retry-After, 0 s) — flaky, throttled",
         "a record per failure with path, status and correlation ID — the five failure scenes"),
}
