"""OpenAPI: each mock publishes a document describing every route, and its responses conform.

The schemathesis run (test_mock_schemathesis.py) fuzzes the happy path; here
scripted sessions go through every named fault scenario and each recorded
response is checked with jsonschema against the document: status documented,
required headers present, media type and body schema right. Drift faults
must, on the contrary, break the contract detectably.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from mock_services import build, list_services

SERVICES = [info.name for info in list_services()]


@pytest.mark.parametrize("name", SERVICES)
def test_document_describes_every_route(name) -> None:
    service = build(name)
    doc = service.openapi("http://127.0.0.1:1234")
    assert doc["openapi"] == "3.0.3"
    assert doc["servers"] == [{"url": "http://127.0.0.1:1234"}]
    assert (
        doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"]
        == "http://127.0.0.1:1234/oauth/token"
    )
    documented = {
        (method.upper(), path, op["operationId"]) for path, item in doc["paths"].items() for method, op in item.items()
    }
    routes = {(r.method, r.pattern, r.operation_id) for r in service.router.routes if r.pattern != "/openapi.json"}
    assert documented == routes


def _validator(doc: dict, schema: dict) -> jsonschema.Draft4Validator:
    # OpenAPI 3.0 schema objects are JSON Schema draft 4 in spirit; refs resolve inside the document.
    return jsonschema.Draft4Validator({"allOf": [schema], "components": doc["components"]})


def _session(service, call, token_for) -> None:
    """A scripted client: a token, then each route a few times, re-authenticating on 401."""
    token = token_for(service)
    order = {
        "customer_id": "acc_00001",
        "currency": "EUR",
        "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "2.00"}],
    }
    for i in range(12):
        auth = {"Authorization": f"Bearer {token}"}
        if service.name == "crm":
            targets = [("GET", "/v1/accounts?limit=5", None), ("GET", "/v1/accounts/acc_00003", None)]
        else:
            targets = [
                ("POST", "/v1/orders", order),
                ("GET", "/v1/orders", None),
                ("GET", "/v1/orders/ord_00001", None),
            ]
        for method, target, body in targets:
            headers = dict(auth, **({"Idempotency-Key": f"k{i % 4}"} if body else {}))
            if call(service, method, target, headers, body or b"").status == 401:
                token = token_for(service)


DRIFTING = {"MalformedBody", "RenameField"}  # faults whose whole point is to break the contract
NAMED = [(info.name, scenario) for info in list_services() for scenario in info.scenarios]


@pytest.mark.parametrize("name, scenario", NAMED, ids=[f"{n}-{s}" for n, s in NAMED])
def test_recorded_responses_conform_under_every_scenario(name, scenario, send, get_token) -> None:
    service = build(name, scenario, seed=2)
    _session(service, send, get_token)
    doc = service.openapi()
    checked = 0
    for entry in service.journal.entries():
        operation = doc["paths"][entry.route.split(" ", 1)[1]][entry.method.lower()]
        documented = operation["responses"].get(str(entry.status))
        if any(f.split("(")[0] in DRIFTING for f in entry.response.faults):
            # Drift must be detectable: a client validating against the document catches it.
            schema = documented["content"]["application/json"]["schema"]
            with pytest.raises((ValueError, jsonschema.ValidationError)):
                _validator(doc, schema).validate(json.loads(entry.response.body))
            checked += 1
            continue
        assert documented is not None, f"{entry.route} answered undocumented {entry.status}"
        for header, spec in documented.get("headers", {}).items():
            assert not spec["required"] or entry.response.header(header) is not None, f"{entry.status} lacks {header}"
        media = entry.response.header("Content-Type")
        assert media in documented["content"], f"{entry.status} sent {media}"
        _validator(doc, documented["content"][media]["schema"]).validate(json.loads(entry.response.body))
        checked += 1
    assert checked >= 10
