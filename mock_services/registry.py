"""The catalogue of fake systems: list them, build one by name."""

from __future__ import annotations

from .clock import VirtualClock
from .errors import UnknownService
from .scenario import Scenario
from .service import MockService, ServiceInfo
from .services import CrmService, ErpService

__all__ = ["build", "list_services", "service_class"]

_SERVICES: dict[str, type[MockService]] = {cls.name: cls for cls in (CrmService, ErpService)}


def list_services() -> list[ServiceInfo]:
    """Describe every fake system: name, summary, scenario names, lab credentials."""
    return [cls.info() for cls in _SERVICES.values()]


def service_class(name: str) -> type[MockService]:
    """Return the class of the fake system called ``name``."""
    try:
        return _SERVICES[name]
    except KeyError:
        raise UnknownService(f"no mock service {name!r}; known: {', '.join(_SERVICES)}") from None


def build(
    name: str, scenario: str | Scenario = "happy", seed: int = 0, clock: VirtualClock | None = None
) -> MockService:
    """Build a fresh fake system with a scenario (by name or object), a seed and a clock."""
    return service_class(name)(scenario=scenario, seed=seed, clock=clock)
