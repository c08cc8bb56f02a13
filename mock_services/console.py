"""Running a mock for a person at a terminal: what ``iclab mock serve`` calls."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .admin import ADMIN_ROUTES
from .registry import build, service_class
from .server import serve
from .service import ServiceInfo

__all__ = ["serve_forever"]


def serve_forever(
    name: str,
    scenario: str = "happy",
    port: int | None = None,
    seed: int = 0,
    echo: Callable[[str], object] = print,
    stop: threading.Event | None = None,
    log_requests: bool = True,
) -> None:
    """Serve a mock on 127.0.0.1 until Ctrl+C (or until ``stop`` is set), then shut down cleanly.

    ``port`` None means the service's usual port; 0 means any free port.
    """
    service = build(name, scenario, seed)
    info = service_class(name).info()

    def log(line: str) -> None:
        echo(f"  {line}")

    running = serve(service, info.default_port if port is None else port, log=log if log_requests else None,
                    admin=True)
    try:
        for line in _banner(running.url, service.scenario.name, seed, info, service.clock.dilation):
            echo(line)
        waiter = stop if stop is not None else threading.Event()
        while not waiter.wait(3600):  # wait() in slices: Ctrl+C interrupts it
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.close()
        echo(f"{name} mock stopped")


def _banner(url: str, scenario: str, seed: int, info: ServiceInfo, dilation: float) -> list[str]:
    lines = [
        f"iclab {info.name} mock: {info.summary}",
        f"  scenario {scenario} (seed {seed}); others: {', '.join(info.scenarios)}",
        f"  URL      {url}",
        f"  OpenAPI  {url}/openapi.json  (import into Postman)",
    ]
    if info.credentials is not None:
        creds = info.credentials
        lines += [
            f"  token    POST {url}{creds.token_path}  grant_type=client_credentials",
            f"  client_id      {creds.client_id}",
            f"  client_secret  {creds.client_secret}  (lab credentials; never reuse a real secret like this)",
            f"  scopes         {' '.join(creds.scopes)}",
        ]
    lines.append("  admin")
    lines += [f"    {method:<5} {url}{path}" for method, path in ADMIN_ROUTES]
    lines += [
        f'  time is virtual: advance it with POST {url}/__admin/clock/advance {{"seconds": 30}};',
        f"  slow responses stall 1/{dilation:g} of their virtual time for real (at most 2 s)",
        "press Ctrl+C to stop",
    ]
    return lines
