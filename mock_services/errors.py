"""Errors raised by the mock services package, as one small tree.

    MockServiceError                  anything this package raises on purpose
    ├── UnknownService                build("nope")
    ├── UnknownScenario               build("crm", scenario="nope")
    ├── ScenarioError                 a scenario that cannot run (bad rule, bad fault)
    ├── UnsafeHost                    serve() asked to listen beyond loopback
    └── PortUnavailable               serve() could not bind (port in use, no IPv6)

The CLI maps these to click errors; nothing here imports click.
"""

from __future__ import annotations

__all__ = [
    "MockServiceError",
    "PortUnavailable",
    "ScenarioError",
    "UnknownScenario",
    "UnknownService",
    "UnsafeHost",
]


class MockServiceError(Exception):
    """Base of every error this package raises on purpose."""


class UnknownService(MockServiceError, LookupError):
    """No fake system has this name."""


class UnknownScenario(MockServiceError, LookupError):
    """The service has no scenario with this name."""


class ScenarioError(MockServiceError, ValueError):
    """A scenario cannot run: it targets a missing route or is malformed."""


class UnsafeHost(MockServiceError, ValueError):
    """A mock was asked to listen on something other than loopback."""


class PortUnavailable(MockServiceError, OSError):
    """The loopback port could not be bound (in use, or the address family is missing)."""
