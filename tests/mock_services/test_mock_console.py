"""serve_forever: the banner a learner needs, real serving, and a clean stop (event or Ctrl+C)."""

from __future__ import annotations

import re
import socket
import threading

import pytest
import requests

from mock_services import serve_forever


class _Lines:
    """An echo that records lines and signals once the banner is complete."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if line == "press Ctrl+C to stop":
            self.ready.set()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def test_banner_serving_and_clean_stop() -> None:
    echo, stop = _Lines(), threading.Event()
    thread = threading.Thread(
        target=serve_forever, args=("crm", "throttled"), kwargs={"port": 0, "seed": 4, "echo": echo, "stop": stop}
    )
    thread.start()
    try:
        assert echo.ready.wait(5), echo.text
        url = re.search(r"URL\s+(http://127\.0\.0\.1:\d+)", echo.text).group(1)
        for needed in (
            "crm-lab-client",
            "crm-lab-secret-4f9c2e",
            f"{url}/openapi.json",
            f"{url}/__admin/journal",
            f"{url}/__admin/reset",
            f"{url}/__admin/scenario",
            f"{url}/__admin/clock/advance",
            "scenario throttled (seed 4)",
        ):
            assert needed in echo.text
        assert requests.get(f"{url}/v1/accounts", timeout=5).status_code == 401
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert echo.lines[-1] == "crm mock stopped"
    assert any("GET /v1/accounts -> 401" in line for line in echo.lines)  # requests are logged as they come
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


class _CtrlC:
    def wait(self, timeout: float | None = None) -> bool:
        raise KeyboardInterrupt


def test_ctrl_c_stops_cleanly() -> None:
    echo = _Lines()
    serve_forever("erp", "happy", port=0, echo=echo, stop=_CtrlC())  # returns instead of raising
    assert echo.ready.is_set()
    assert "erp-lab-client" in echo.text
    assert echo.lines[-1] == "erp mock stopped"
