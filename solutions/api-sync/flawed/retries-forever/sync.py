"""Sync CRM accounts into canonical records: one token, cursor paging, careful retries, actionable failures."""
from __future__ import annotations

import logging
import random
import time
import uuid
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlencode

import requests

log = logging.getLogger("crm_sync")

RETRY_WITH_BACKOFF = {500, 502, 503, 504}
HONOURS_RETRY_AFTER = {429, 503}


class RequestFailed(Exception):
    """One logical operation failed for good; ``failure`` is the entry for the failure list."""

    def __init__(self, failure: dict):
        super().__init__(failure["detail"])
        self.failure = failure


def canonical(account: dict) -> dict:
    """The canonical record for one CRM account."""
    return {
        "account_id": account["id"],
        "name": account["name"],
        "status": account["status"],
        "country": account["country"],
        "email": account["email"],
        "phone": account["phone"],
        "updated_at": account["updated_at"],
    }


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait, from Retry-After as delay-seconds or an HTTP-date."""
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _detail(response: requests.Response) -> str:
    """The problem's detail (RFC 9457), else its title, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body.get("error_description") or body)[:500]
    return str(body)[:200]


class CrmClient:
    """Calls the CRM for one sync: one token, one correlation ID per logical operation."""

    def __init__(self, config: dict):
        self.base_url = config["base_url"].rstrip("/")
        self.client_id = config["client_id"]
        self.client_secret = config["client_secret"]
        self.timeout = config["timeout"]
        self.backoff_base = config["backoff_base"]
        self.backoff_cap = config["backoff_cap"]
        self.session = requests.Session()
        self.token: str | None = None

    def close(self) -> None:
        self.session.close()

    def backoff(self, retry: int) -> float:
        """Capped exponential backoff with jitter: retry n waits 50-100% of min(cap, base * 2**(n-1))."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1))
        return ceiling * random.uniform(0.5, 1.0)

    def get_json(self, path: str, params: dict | None = None):
        """GET one resource as one logical operation; raise RequestFailed when it cannot succeed."""
        if self.token is None:
            self.token = self._fetch_token()
        return self._operation("GET", path, params, bearer=True)

    def _fetch_token(self) -> str:
        grant = self._operation("POST", "/oauth/token", None, bearer=False,
                                data={"grant_type": "client_credentials"}, auth=(self.client_id, self.client_secret))
        return grant["access_token"]

    def _operation(self, method: str, path: str, params: dict | None, bearer: bool, **kwargs):
        """Send one logical operation, retrying what may succeed later; return the decoded JSON body."""
        correlation_id = str(uuid.uuid4())
        operation = f"{method} {path}" + (f"?{urlencode(params)}" if params else "")
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            headers = {"X-Correlation-ID": correlation_id, "Accept": "application/json"}
            if bearer:
                headers["Authorization"] = f"Bearer {self.token}"
            try:
                response = self.session.request(method, self.base_url + path, params=params, headers=headers,
                                                timeout=self.timeout, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                status, detail, delay = None, f"{type(exc).__name__} after {self.timeout} s", self.backoff(attempt)
            else:
                status, detail = response.status_code, _detail(response)
                challenge = response.headers.get("WWW-Authenticate", "")
                if response.ok:
                    try:
                        return response.json()
                    except ValueError:  # cut short on the way: the next attempt may arrive whole
                        detail, delay = "the response body is not valid JSON", self.backoff(attempt)
                elif status == 401 and bearer and "invalid_token" in challenge and not refreshed:
                    # The token expired or was revoked: one new token, then the same request again.
                    log.info("%s: access token rejected; getting a new one [correlation_id=%s]",
                             operation, correlation_id)
                    self.token = self._fetch_token()
                    refreshed = True
                    attempt -= 1
                    continue
                elif status in HONOURS_RETRY_AFTER and (wait := _retry_after(response)) is not None:
                    delay = wait
                elif status in RETRY_WITH_BACKOFF:
                    delay = self.backoff(attempt)
                else:
                    self._give_up(operation, status, correlation_id, attempt, detail)
            log.warning("%s: attempt %d failed (%s); retrying in %.2f s [correlation_id=%s]",
                        operation, attempt, status or detail, delay, correlation_id)
            time.sleep(delay)

    def _give_up(self, operation: str, status: int | None, correlation_id: str, attempts: int, detail: str):
        failure = {"operation": operation, "status": status, "correlation_id": correlation_id,
                   "attempts": attempts, "detail": detail}
        log.error("%s failed after %d attempt(s): %s %s [correlation_id=%s]",
                  operation, attempts, status, detail, correlation_id)
        raise RequestFailed(failure)


def sync_accounts(config: dict) -> dict:
    """Fetch every account page by page (cursor pagination) into canonical records."""
    client = CrmClient(config)
    records: list[dict] = []
    failures: list[dict] = []
    params = {"limit": config["page_size"]}
    try:
        while True:
            page = client.get_json("/v1/accounts", params)
            records.extend(canonical(account) for account in page["data"])
            log.info("fetched %d accounts (%d so far)", len(page["data"]), len(records))
            if not page["has_more"] or not page["data"]:
                break
            params = {"limit": config["page_size"], "starting_after": page["data"][-1]["id"]}
    except RequestFailed as exc:
        # Without this page there is no cursor for the next one: stop, keep what we have.
        failures.append(exc.failure)
    finally:
        client.close()
    return {"records": records, "failures": failures}


def fetch_accounts(config: dict, account_ids: list[str]) -> dict:
    """Fetch the named accounts one by one; one account's failure never stops the others."""
    client = CrmClient(config)
    records: list[dict] = []
    failures: list[dict] = []
    try:
        for account_id in account_ids:
            try:
                records.append(canonical(client.get_json(f"/v1/accounts/{quote(account_id, safe='')}")))
            except RequestFailed as exc:
                failures.append(exc.failure)
    finally:
        client.close()
    return {"records": records, "failures": failures}
