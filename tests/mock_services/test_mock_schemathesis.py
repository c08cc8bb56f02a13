"""OpenAPI conformance, proven with schemathesis against the running mocks.

Each mock runs on loopback (happy scenario) with a valid Bearer token
supplied; schemathesis loads /openapi.json, generates valid and invalid
requests (plus undeclared methods and missing required headers) and checks
every response's status, headers, content type and body against the
document. test_mock_openapi.py covers the fault scenarios with jsonschema.
"""

from __future__ import annotations

import uuid

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the [test] extra")

import hypothesis  # noqa: E402 - after the importorskip above
import requests  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

from mock_services import build, serve  # noqa: E402
from mock_services.idempotency import parse_key  # noqa: E402


def _schema_for(name: str, request: pytest.FixtureRequest):
    service = build(name, seed=3)
    server = serve(service)
    request.addfinalizer(server.close)
    creds = service.credentials
    token = requests.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.client_secret),
        timeout=5,
    ).json()["access_token"]
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=SchemathesisConfig())
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    return schema


@pytest.fixture
def crm_schema(request):
    return _schema_for("crm", request)


@pytest.fixture
def erp_schema(request):
    return _schema_for("erp", request)


crm_lazy = schemathesis.pytest.from_fixture("crm_schema")
erp_lazy = schemathesis.pytest.from_fixture("erp_schema")
SETTINGS = hypothesis.settings(
    max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(hypothesis.HealthCheck)
)


@crm_lazy.parametrize()
@SETTINGS
def test_crm_conforms_to_its_openapi_document(case) -> None:
    case.call_and_validate()


@erp_lazy.parametrize()
@SETTINGS
def test_erp_conforms_to_its_openapi_document(case) -> None:
    # A fresh key per call when the generated one is usable: reusing a key with
    # another payload is *supposed* to get 422, which the generator cannot know.
    if case.headers and parse_key(case.headers.get("Idempotency-Key")) is not None:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    case.call_and_validate()
