"""Fake enterprise systems that misbehave on purpose, for labs and graders.

One definition per system (``services/crm.py``, ``services/erp.py``), used
three ways:

- ``serve_forever("crm", "flaky")``: a real server on 127.0.0.1 for curl,
  Postman or any client (``iclab mock serve``);
- ``serve(build("crm", scenario, seed, clock))``: inside the grader, on an
  ephemeral loopback port, its ``journal`` the evidence;
- ``register_responses(rsps, build("crm"), base_url)``: learners' visible
  tests stub the same routes with ``responses``.

A fake system is a plain handler (``MockService.handle(request) ->
response``); a scenario is data (rules of small fault objects); time is a
shared ``VirtualClock``.
"""

from __future__ import annotations

from .clock import MAX_REAL_STALL, VirtualClock
from .console import serve_forever
from .errors import (
    MockServiceError,
    PortUnavailable,
    ScenarioError,
    UnknownScenario,
    UnknownService,
    UnsafeHost,
)
from .faults import (
    DropAfterCommit,
    ExpireToken,
    Fault,
    Gate,
    InsertRowsBeforeFetch,
    MalformedBody,
    RateLimited,
    RenameField,
    ServerError,
    Slow,
)
from .journal import Delivery, Journal, JournalEntry, RecordedResponse
from .messages import Request, Response
from .oauth import Credentials
from .registry import build, list_services
from .responses_adapter import register_responses
from .scenario import Always, Chance, Every, From, Nth, Rule, Scenario, on
from .server import RunningServer, serve
from .service import MockService, ServiceInfo

__all__ = [
    "MAX_REAL_STALL",
    "Always",
    "Chance",
    "Credentials",
    "Delivery",
    "DropAfterCommit",
    "Every",
    "ExpireToken",
    "Fault",
    "From",
    "Gate",
    "InsertRowsBeforeFetch",
    "Journal",
    "JournalEntry",
    "MalformedBody",
    "MockService",
    "MockServiceError",
    "Nth",
    "PortUnavailable",
    "RateLimited",
    "RecordedResponse",
    "RenameField",
    "Request",
    "Response",
    "Rule",
    "RunningServer",
    "Scenario",
    "ScenarioError",
    "ServerError",
    "ServiceInfo",
    "Slow",
    "UnknownScenario",
    "UnknownService",
    "UnsafeHost",
    "VirtualClock",
    "build",
    "list_services",
    "on",
    "register_responses",
    "serve",
    "serve_forever",
]
