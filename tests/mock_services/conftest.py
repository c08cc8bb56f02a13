"""Small fixtures for the mock services' tests: built services, tokens, running servers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mock_services import MockService, Request, Response, RunningServer, build, serve

FORM = "application/x-www-form-urlencoded"


def basic(client_id: str, secret: str) -> str:
    """Return an HTTP Basic Authorization value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def call(
    service: MockService, method: str, target: str, headers: dict[str, str] | None = None, body: Any = b""
) -> Response:
    """Send one request straight to a service's handler (no sockets)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
    return service.handle(Request.build(method, target, headers or {}, body))


def token_for(service: MockService, scope: str | None = None) -> str:
    """Get an access token from a service's token endpoint, asserting success."""
    creds = service.credentials
    assert creds is not None
    form = "grant_type=client_credentials" + (f"&scope={scope}" if scope else "")
    response = call(
        service,
        "POST",
        "/oauth/token",
        {"Content-Type": FORM, "Authorization": basic(creds.client_id, creds.client_secret)},
        form,
    )
    assert response.status == 200, response.body
    return response.json()["access_token"]


@pytest.fixture
def send() -> Callable[..., Response]:
    """``send(service, method, target, headers=None, body=b"")``: call a handler directly."""
    return call


@pytest.fixture
def get_token() -> Callable[..., str]:
    """``get_token(service, scope=None)``: a fresh access token from the service."""
    return token_for


@pytest.fixture
def basic_auth() -> Callable[[str, str], str]:
    """``basic_auth(client_id, secret)``: an HTTP Basic Authorization value."""
    return basic


@pytest.fixture
def crm() -> MockService:
    """A fresh CRM, happy scenario, seed 0."""
    return build("crm")


@pytest.fixture
def erp() -> MockService:
    """A fresh ERP, happy scenario, seed 0."""
    return build("erp")


@pytest.fixture
def running() -> Iterator[Callable[[MockService], RunningServer]]:
    """Start services on loopback; every server is closed after the test."""
    servers: list[RunningServer] = []

    def start(service: MockService, *, admin: bool = False) -> RunningServer:
        server = serve(service, admin=admin)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
