"""Create orders in the ERP exactly once: one Idempotency-Key per logical order, safe retries, honest results."""
from __future__ import annotations

import logging
import random
import time
import uuid
from email.utils import parsedate_to_datetime

import requests

log = logging.getLogger("erp_orders")

BACKOFF = {500, 502, 503, 504}
WAIT_AS_TOLD = {409, 429, 503}


class CreateFailed(Exception):
    """An order could not be created; ``status`` is the last HTTP status (None without a response)."""

    def __init__(self, status: int | None, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def idempotency_key(order: dict) -> str:
    """The order's key: derived from its order_ref alone, so every retry and every rerun sends the same one."""
    return f"order-{hash(order['order_ref']):x}"


def _retry_after(response: requests.Response) -> float | None:
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
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    if not isinstance(body, dict):
        return str(body)[:200]
    detail = str(body.get("detail") or body.get("title") or body.get("error_description") or body)
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        detail += ": " + "; ".join(f"{e.get('pointer')} {e.get('detail')}" for e in errors if isinstance(e, dict))
    return detail[:500]


class ErpClient:
    """Talks to the ERP for one batch: one token, reused until the ERP rejects it."""

    def __init__(self, config: dict):
        self.base_url = config["base_url"].rstrip("/")
        self.credentials = (config["client_id"], config["client_secret"])
        self.timeout = config["timeout"]
        self.max_attempts = config["max_attempts"]
        self.backoff_base, self.backoff_cap = config["backoff_base"], config["backoff_cap"]
        self.session = requests.Session()
        self.token: str | None = None

    def close(self) -> None:
        self.session.close()

    def backoff(self, retry: int) -> float:
        return min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1)) * random.uniform(0.5, 1.0)

    def _fetch_token(self) -> str:
        response = self.session.post(f"{self.base_url}/oauth/token", data={"grant_type": "client_credentials"},
                                     auth=self.credentials, timeout=self.timeout)
        if response.status_code != 200:
            raise CreateFailed(response.status_code, f"token request refused: {_detail(response)}")
        return response.json()["access_token"]

    def create(self, order: dict) -> dict:
        """POST one order, retrying until the ERP has it (or cannot take it); return the ERP's order."""
        body = {"customer_id": order["customer_id"], "currency": order["currency"],
                "external_ref": order["order_ref"], "lines": order["lines"]}
        key, correlation_id = idempotency_key(order), str(uuid.uuid4())
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            if self.token is None:
                self.token = self._fetch_token()
            headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key,
                       "X-Correlation-ID": correlation_id}
            try:
                response = self.session.post(f"{self.base_url}/v1/orders", json=body, headers=headers,
                                             timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                # The ERP may have created the order before we lost the answer: same key, so a retry is safe.
                status, detail, delay = None, type(exc).__name__, self.backoff(attempt)
            else:
                status, detail = response.status_code, _detail(response)
                if response.status_code == 201:
                    return response.json()
                if status == 401 and not refreshed:
                    self.token, refreshed = None, True
                    attempt -= 1
                    continue
                if status in WAIT_AS_TOLD and (wait := _retry_after(response)) is not None:
                    delay = wait  # 409: the first attempt is still being processed; 429/503: throttled
                elif status in BACKOFF or status == 429:
                    delay = self.backoff(attempt)
                else:
                    raise CreateFailed(status, detail)
            if attempt >= self.max_attempts:
                raise CreateFailed(status, f"gave up after {attempt} attempts: {detail}")
            log.warning("order %s: attempt %d failed (%s); retrying in %.2f s [correlation_id=%s]",
                        order["order_ref"], attempt, status or detail, delay, correlation_id)
            time.sleep(delay)


def create_orders(config: dict, orders: list[dict]) -> dict:
    """Create every order once; report each as created (with the ERP's id) or failed (with why)."""
    client = ErpClient(config)
    created, failed = [], []
    try:
        for order in orders:
            try:
                erp_order = client.create(order)
            except CreateFailed as exc:
                log.error("order %s failed: %s %s", order["order_ref"], exc.status, exc.detail)
                failed.append({"order_ref": order["order_ref"], "status": exc.status, "detail": exc.detail})
            else:
                created.append({"order_ref": order["order_ref"], "order_id": erp_order["id"]})
    finally:
        client.close()
    return {"created": created, "failed": failed}
