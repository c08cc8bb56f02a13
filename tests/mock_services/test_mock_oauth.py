"""OAuth 2.0 client credentials (RFC 6749 section 4.4) and Bearer checks (RFC 6750)."""

from __future__ import annotations

import base64

import pytest

from mock_services import Credentials, Request, VirtualClock, build
from mock_services.oauth import TokenIssuer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _token(service, send, headers, body):
    return send(service, "POST", "/oauth/token", {**FORM, **headers}, body)


def test_basic_client_auth_issues_a_bearer_token(crm, send, basic_auth) -> None:
    creds = crm.credentials
    response = _token(
        crm, send, {"Authorization": basic_auth(creds.client_id, creds.client_secret)}, "grant_type=client_credentials"
    )
    assert response.status == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"]
    assert response.header("Cache-Control") == "no-store"
    assert response.header("Pragma") == "no-cache"


def test_client_credentials_in_the_form_body_are_accepted(crm, send) -> None:
    creds = crm.credentials
    form = f"grant_type=client_credentials&client_id={creds.client_id}&client_secret={creds.client_secret}"
    assert _token(crm, send, {}, form).status == 200


def test_basic_credentials_are_form_decoded_first() -> None:
    # RFC 6749 2.3.1: id and secret are application/x-www-form-urlencoded before Basic encoding.
    issuer = TokenIssuer("t", Credentials("my client", "p:ss+word", ("s",)), VirtualClock(), seed=0)
    encoded = base64.b64encode(b"my+client:p%3Ass%2Bword").decode()
    request = Request.build(
        "POST", "/oauth/token", {**FORM, "Authorization": f"Basic {encoded}"}, "grant_type=client_credentials"
    )
    assert issuer.token_endpoint(request).status == 200


@pytest.mark.parametrize(
    "headers, body",
    [
        ({"Authorization": "Basic " + "d3Jvbmc6d3Jvbmc="}, "grant_type=client_credentials"),  # wrong:wrong
        ({}, "grant_type=client_credentials"),  # no client authentication at all
        ({}, "grant_type=client_credentials&client_id=crm-lab-client&client_secret=nope"),
        ({"Authorization": "Bearer abc"}, "grant_type=client_credentials"),  # wrong scheme
    ],
    ids=["wrong-basic", "none", "wrong-form-secret", "wrong-scheme"],
)
def test_bad_client_authentication_is_invalid_client_401_with_basic_challenge(crm, send, headers, body) -> None:
    response = _token(crm, send, headers, body)
    assert response.status == 401
    assert response.json()["error"] == "invalid_client"
    assert response.header("WWW-Authenticate").startswith("Basic ")
    assert response.header("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "body, status, error",
    [
        ("grant_type=password&username=a&password=b", 400, "unsupported_grant_type"),
        ("grant_type=authorization_code&code=x", 400, "unsupported_grant_type"),
        ("scope=accounts:read", 400, "invalid_request"),
        ("grant_type=client_credentials&grant_type=client_credentials", 400, "invalid_request"),
        ("grant_type=client_credentials&scope=admin", 400, "invalid_scope"),
    ],
    ids=["password-grant", "code-grant", "no-grant-type", "repeated-parameter", "unknown-scope"],
)
def test_token_request_errors_follow_section_5_2(crm, send, basic_auth, body, status, error) -> None:
    creds = crm.credentials
    response = _token(crm, send, {"Authorization": basic_auth(creds.client_id, creds.client_secret)}, body)
    assert (response.status, response.json()["error"]) == (status, error)
    assert response.header("Content-Type") == "application/json"


def test_token_endpoint_wants_a_form_not_json(crm, send) -> None:
    creds = crm.credentials
    body = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    response = send(crm, "POST", "/oauth/token", {}, body)
    assert (response.status, response.json()["error"]) == (400, "invalid_request")


def test_two_client_authentication_methods_at_once_are_refused(crm, send, basic_auth) -> None:
    creds = crm.credentials
    response = _token(
        crm,
        send,
        {"Authorization": basic_auth(creds.client_id, creds.client_secret)},
        f"grant_type=client_credentials&client_secret={creds.client_secret}",
    )
    assert (response.status, response.json()["error"]) == (400, "invalid_request")


def test_token_endpoint_is_post_only(crm, send) -> None:
    response = send(crm, "GET", "/oauth/token")
    assert response.status == 405 and response.header("Allow") == "POST"


def test_no_token_gets_a_bare_bearer_challenge(crm, send) -> None:
    response = send(crm, "GET", "/v1/accounts")
    assert response.status == 401
    assert response.header("WWW-Authenticate") == 'Bearer realm="crm"'  # no error code (RFC 6750 3.1)
    assert response.header("Content-Type") == "application/problem+json"


def test_unknown_token_is_invalid_token(crm, send) -> None:
    response = send(crm, "GET", "/v1/accounts", {"Authorization": "Bearer not-a-real-token"})
    assert response.status == 401
    assert 'error="invalid_token"' in response.header("WWW-Authenticate")


def test_token_expires_after_expires_in_virtual_seconds(crm, send, get_token) -> None:
    token = get_token(crm)
    crm.clock.advance(3599)
    assert send(crm, "GET", "/v1/accounts", {"Authorization": f"Bearer {token}"}).status == 200
    crm.clock.advance(1)
    response = send(crm, "GET", "/v1/accounts", {"Authorization": f"Bearer {token}"})
    assert response.status == 401
    challenge = response.header("WWW-Authenticate")
    assert 'error="invalid_token"' in challenge and "expired" in challenge
    assert response.json()["status"] == 401


def test_malformed_bearer_credential_is_invalid_request_400(crm, send) -> None:
    response = send(crm, "GET", "/v1/accounts", {"Authorization": "Bearer two words"})
    assert response.status == 400
    assert 'error="invalid_request"' in response.header("WWW-Authenticate")


def test_token_without_the_scope_is_forbidden_insufficient_scope(erp, send, get_token) -> None:
    token = get_token(erp, scope="orders:read")
    order = {
        "customer_id": "acc_00001",
        "currency": "EUR",
        "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "1.00"}],
    }
    response = send(erp, "POST", "/v1/orders", {"Authorization": f"Bearer {token}", "Idempotency-Key": "k"}, order)
    assert response.status == 403
    challenge = response.header("WWW-Authenticate")
    assert 'error="insufficient_scope"' in challenge and 'scope="orders:write"' in challenge
    assert send(erp, "GET", "/v1/orders", {"Authorization": f"Bearer {token}"}).status == 200


def test_tokens_are_reproducible_from_the_seed(send, get_token) -> None:
    assert get_token(build("crm", seed=3)) == get_token(build("crm", seed=3))
    assert get_token(build("crm", seed=3)) != get_token(build("crm", seed=4))
