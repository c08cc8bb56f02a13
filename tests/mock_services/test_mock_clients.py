"""Ordinary clients work against a running mock: curl, requests, urllib."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import requests

CURL = shutil.which("curl")


@pytest.mark.skipif(CURL is None, reason="curl is not installed (the http.client test covers this path)")
def test_curl(crm, running) -> None:
    server = running(crm)
    creds = crm.credentials

    def curl(*args: str) -> tuple[int, dict]:
        done = subprocess.run(
            [CURL, "-sS", "--max-time", "10", "-w", "\n%{http_code}", *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        body, _, status = done.stdout.rpartition("\n")
        return int(status), json.loads(body)

    status, token = curl(
        "-u",
        f"{creds.client_id}:{creds.client_secret}",
        "-d",
        "grant_type=client_credentials",
        f"{server.url}/oauth/token",
    )
    assert status == 200 and token["token_type"] == "Bearer"
    status, page = curl("-H", f"Authorization: Bearer {token['access_token']}", f"{server.url}/v1/accounts?limit=3")
    assert status == 200 and len(page["data"]) == 3
    status, problem = curl(f"{server.url}/v1/accounts")
    assert status == 401 and problem["status"] == 401
    assert crm.journal.entries()[0].header("User-Agent").startswith("curl/")


def test_http_client(crm, running) -> None:
    """The curl-less path: the standard library's lowest-level client."""
    server = running(crm)
    creds = crm.credentials
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    connection.request(
        "POST",
        "/oauth/token",
        "grant_type=client_credentials",
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    token = json.loads(connection.getresponse().read())["access_token"]
    connection.request(
        "GET", "/v1/accounts/acc_00001", headers={"Authorization": f"Bearer {token}"}
    )  # same keep-alive connection
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["id"] == "acc_00001"
    connection.close()


def test_requests_pages_through_everything(crm, running) -> None:
    server = running(crm)
    creds = crm.credentials
    with requests.Session() as session:
        token = session.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.client_id, creds.client_secret),
            timeout=5,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        seen, params = [], {"limit": 20}
        while True:
            page = session.get(f"{server.url}/v1/accounts", params=params, timeout=5).json()
            seen += page["data"]
            if not page["has_more"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
    assert seen == list(crm.accounts())


def test_urllib(crm, running) -> None:
    server = running(crm)
    creds = crm.credentials
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    )
    with urllib.request.urlopen(
        urllib.request.Request(f"{server.url}/oauth/token", data=form.encode()), timeout=5
    ) as reply:
        assert reply.headers["Cache-Control"] == "no-store"
        token = json.loads(reply.read())["access_token"]
    request = urllib.request.Request(
        f"{server.url}/v1/accounts/acc_00002", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert json.loads(reply.read())["id"] == "acc_00002"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/v1/accounts", timeout=5)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"] == 'Bearer realm="crm"'
    assert refused.value.headers["Content-Type"] == "application/problem+json"
    refused.value.close()
