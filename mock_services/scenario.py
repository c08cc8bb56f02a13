"""Scenarios: a seeded, scripted schedule of faults per route.

A ``Scenario`` is data: rules, each naming a route ("GET /v1/accounts"),
the faults to apply, and *which* requests to that route they apply to
(``Nth(2, 3)``, ``Every(4)``, ``From(2)``, ``Chance(0.1)``, ``Always()``).
A ``Schedule`` is a scenario running: per-rule request counters and one
RNG per rule seeded from the service seed, so a ``Chance`` rule makes the
same choices for the same sequence of requests, every run.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import ScenarioError
from .faults import Fault, fault_from_dict

__all__ = ["Always", "Chance", "Every", "From", "Nth", "Rule", "Scenario", "Schedule", "Selector", "on"]


class Selector(Protocol):
    """Decides whether the n-th matching request (1-based) gets a rule's faults."""

    def selects(self, n: int, rng: random.Random) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Always:
    """Every matching request."""

    def selects(self, n: int, rng: random.Random) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"always": True}


@dataclass(frozen=True, init=False)
class Nth:
    """The listed matching requests: ``Nth(2, 3)`` is the 2nd and 3rd."""

    ns: tuple[int, ...]

    def __init__(self, *ns: int) -> None:
        if not ns or any(not isinstance(n, int) or n < 1 for n in ns):
            raise ScenarioError("Nth needs one or more positive request numbers")
        object.__setattr__(self, "ns", tuple(ns))

    def selects(self, n: int, rng: random.Random) -> bool:
        return n in self.ns

    def to_dict(self) -> dict[str, Any]:
        return {"nth": list(self.ns)}


@dataclass(frozen=True)
class Every:
    """Every n-th matching request: ``Every(4)`` is the 4th, 8th, 12th..."""

    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or self.n < 1:
            raise ScenarioError("Every needs a positive period")

    def selects(self, n: int, rng: random.Random) -> bool:
        return n % self.n == 0

    def to_dict(self) -> dict[str, Any]:
        return {"every": self.n}


@dataclass(frozen=True)
class From:
    """The n-th matching request and every one after it."""

    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or self.n < 1:
            raise ScenarioError("From needs a positive request number")

    def selects(self, n: int, rng: random.Random) -> bool:
        return n >= self.n

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.n}


@dataclass(frozen=True)
class Chance:
    """Each matching request with probability ``p``, drawn from the seeded RNG."""

    p: float

    def __post_init__(self) -> None:
        if not isinstance(self.p, (int, float)) or not 0.0 <= self.p <= 1.0:
            raise ScenarioError("Chance needs a probability between 0 and 1")

    def selects(self, n: int, rng: random.Random) -> bool:
        return rng.random() < self.p

    def to_dict(self) -> dict[str, Any]:
        return {"chance": self.p}


@dataclass(frozen=True)
class Rule:
    """Apply ``faults`` to the requests to ``route`` that ``when`` selects."""

    route: str
    faults: tuple[Fault, ...]
    when: Selector = Always()

    def to_dict(self) -> dict[str, Any]:
        """Return this rule as JSON-ready data."""
        return {"route": self.route, "when": self.when.to_dict(), "faults": [f.to_dict() for f in self.faults]}


def on(route: str, *faults: Fault, when: Selector | None = None) -> Rule:
    """Write a rule readably: ``on("GET /v1/accounts", RateLimited(30), when=Nth(2, 3))``."""
    if not faults:
        raise ScenarioError(f"a rule for {route} needs at least one fault")
    return Rule(route, tuple(faults), when if when is not None else Always())


@dataclass(frozen=True)
class Scenario:
    """A named schedule of faults; ``Scenario("happy")`` has none."""

    name: str
    rules: tuple[Rule, ...] = ()
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return this scenario as JSON-ready data (what GET /__admin/scenario shows)."""
        return {"name": self.name, "summary": self.summary, "rules": [rule.to_dict() for rule in self.rules]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build a scenario from data (what PUT /__admin/scenario accepts)."""
        if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
            raise ScenarioError("a scenario is an object with a list of rules")
        rules = []
        for raw in data.get("rules", []):
            if not isinstance(raw, dict) or not isinstance(raw.get("route"), str):
                raise ScenarioError(f"a rule needs a route such as 'GET /v1/accounts': {raw!r}")
            faults = raw.get("faults")
            if not isinstance(faults, list) or not faults:
                raise ScenarioError(f"rule for {raw['route']} needs a non-empty list of faults")
            rules.append(on(raw["route"], *(fault_from_dict(f) for f in faults), when=_selector(raw.get("when"))))
        return cls(str(data.get("name", "custom")), tuple(rules), str(data.get("summary", "")))


def _selector(data: Any) -> Selector:
    if data is None:
        return Always()
    if not isinstance(data, dict) or len(data) != 1:
        raise ScenarioError(f"'when' is one of always, nth, every, from, chance: {data!r}")
    ((kind, value),) = data.items()
    try:
        if kind == "always":
            return Always()
        if kind == "nth":
            return Nth(*(value if isinstance(value, list) else [value]))
        if kind == "every":
            return Every(value)
        if kind == "from":
            return From(value)
        if kind == "chance":
            return Chance(value)
    except TypeError as exc:
        raise ScenarioError(f"bad 'when' {data!r}: {exc}") from None
    raise ScenarioError(f"'when' is one of always, nth, every, from, chance: {data!r}")


class Schedule:
    """A scenario in progress: counts requests per rule and decides which faults apply."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Start counting again, with the RNGs back at their seeds."""
        with self._lock:
            self._counts = [0] * len(self.scenario.rules)
            # One RNG per rule: a Chance rule's draws do not depend on other routes' traffic.
            self._rngs = [
                random.Random(f"{self.seed}:{self.scenario.name}:{i}") for i in range(len(self.scenario.rules))
            ]

    def faults_for(self, route_key: str) -> tuple[Fault, ...]:
        """Count this request against every rule for its route; return the faults selected."""
        chosen: list[Fault] = []
        with self._lock:
            for i, rule in enumerate(self.scenario.rules):
                if rule.route != route_key:
                    continue
                self._counts[i] += 1
                if rule.when.selects(self._counts[i], self._rngs[i]):
                    chosen.extend(rule.faults)
        return tuple(chosen)
