"""The socket transport: loopback only, concurrent, stalls and drops carried out, clean shutdown."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest
import requests

from mock_services import (
    Delivery,
    DropAfterCommit,
    Gate,
    Nth,
    PortUnavailable,
    Scenario,
    Slow,
    UnsafeHost,
    VirtualClock,
    build,
    on,
    serve,
)

ORDER = {
    "customer_id": "acc_00001",
    "currency": "EUR",
    "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "9.99"}],
}


def test_binds_127_0_0_1_only(crm, running) -> None:
    server = running(crm)
    assert server.host == "127.0.0.1"
    assert server._server.socket.getsockname()[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert requests.get(f"{server.url}/openapi.json", timeout=5).status_code == 200


def test_not_reachable_on_a_non_loopback_address(crm, running) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only picks the outbound interface
        own_address = probe.getsockname()[0]
    except OSError:
        pytest.skip("no non-loopback interface")
    finally:
        probe.close()
    if own_address.startswith("127."):
        pytest.skip("no non-loopback interface")
    server = running(crm)
    with pytest.raises(OSError):
        socket.create_connection((own_address, server.port), timeout=2).close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_refuses_any_host_but_loopback(crm, host) -> None:
    with pytest.raises(UnsafeHost):
        serve(crm, host=host)


def test_busy_port_is_a_clear_error(crm, running) -> None:
    server = running(crm)
    with pytest.raises(PortUnavailable, match=str(server.port)):
        serve(build("crm"), port=server.port)


def test_localhost_is_pinned_to_127_0_0_1(crm) -> None:
    with serve(crm, host="localhost") as server:
        assert server.host == "127.0.0.1"


def test_ipv6_loopback(crm) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = serve(crm, host="::1")
    except PortUnavailable:
        pytest.skip("IPv6 loopback unavailable")
    with server:
        assert server.url.startswith("http://[::1]:")
        assert requests.get(f"{server.url}/nope", timeout=5).status_code == 404


def test_concurrent_load_loses_no_journal_entry(crm, running, get_token) -> None:
    server = running(crm)
    token = get_token(crm)
    crm.journal.clear()
    threads_n, per_thread = 8, 50
    barrier = threading.Barrier(threads_n)
    failures: list[str] = []

    def worker(n: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            for i in range(per_thread):
                response = session.get(
                    f"{server.url}/v1/accounts/acc_00001",
                    headers={"Authorization": f"Bearer {token}", "X-Correlation-ID": f"t{n}-{i}"},
                    timeout=10,
                )
                if response.status_code != 200:
                    failures.append(response.text)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    entries = crm.journal.entries()
    assert failures == []
    assert len(entries) == threads_n * per_thread == 400
    assert len({e.header("X-Correlation-ID") for e in entries}) == 400
    assert len({e.seq for e in entries}) == 400
    assert all(e.response.delivery is Delivery.WRITTEN for e in entries)


def test_client_timeout_shorter_than_the_stall_is_recorded_as_client_gone(running, get_token) -> None:
    # The 2nd list request stalls 60 virtual seconds: 1.5 s real at dilation 40, while the
    # client gives up after 5 virtual seconds (0.125 s real): plenty of headroom on a busy machine.
    crm = build("crm", "slow", clock=VirtualClock(dilation=40))
    server = running(crm)
    token = {"Authorization": f"Bearer {get_token(crm)}"}
    assert requests.get(f"{server.url}/v1/accounts", headers=token, timeout=5).status_code == 200
    timeout_virtual = 5.0
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{server.url}/v1/accounts", headers=token, timeout=timeout_virtual / crm.clock.dilation)
    assert server.wait_idle(timeout=5)
    slow_entry = crm.journal.entries()[2]
    assert slow_entry.response.stall == 60
    assert slow_entry.client_gone
    # The server saw the client leave after about its (scaled) timeout, long before the stall ended.
    assert 0 < slow_entry.response.waited < 60
    assert crm.clock.now() >= slow_entry.at + slow_entry.response.waited
    assert requests.get(f"{server.url}/v1/accounts", headers=token, timeout=5).status_code == 200


def test_patient_client_gets_the_slow_response_and_virtual_time_moves_on(running, get_token) -> None:
    clock = VirtualClock(dilation=1000)  # 30 virtual seconds = 30 ms real
    crm = build("crm", Scenario("s", (on("GET /v1/accounts", Slow(30), when=Nth(1)),)), clock=clock)
    server = running(crm)
    token = {"Authorization": f"Bearer {get_token(crm)}"}
    start = clock.now()
    response = requests.get(f"{server.url}/v1/accounts", headers=token, timeout=5)
    assert response.status_code == 200
    entry = crm.journal.entries()[-1]
    assert entry.response.delivery is Delivery.WRITTEN and entry.response.waited == 30
    assert clock.now() == start + 30


def test_drop_after_commit_is_a_connection_error_for_the_client(running, get_token) -> None:
    erp = build("erp", Scenario("d", (on("POST /v1/orders", DropAfterCommit(), when=Nth(1)),)))
    server = running(erp)
    headers = {"Authorization": f"Bearer {get_token(erp)}", "Idempotency-Key": "drop-1"}
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"{server.url}/v1/orders", json=ORDER, headers=headers, timeout=5)
    assert len(erp.orders()) == 1  # committed before the drop
    retry = requests.post(f"{server.url}/v1/orders", json=ORDER, headers=headers, timeout=5)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert len(erp.orders()) == 1
    assert [e.response.delivery for e in erp.journal.entries()[1:]] == [Delivery.DROPPED, Delivery.WRITTEN]


def test_close_is_prompt_with_idle_keep_alive_connections(crm) -> None:
    server = serve(crm)
    session = requests.Session()
    session.get(f"{server.url}/nope", timeout=5)  # leaves a keep-alive connection open
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 2
    assert not server._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    session.close()
    server.close()  # idempotent


def test_chunked_request_bodies_are_read(crm, running) -> None:
    server = running(crm)
    creds = crm.credentials
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    body = iter(
        [b"grant_type=client_", f"credentials&client_id={creds.client_id}&client_secret={creds.client_secret}".encode()]
    )
    connection.request(
        "POST",
        "/oauth/token",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["token_type"] == "Bearer"
    connection.close()


def _raw(server, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_malformed_framing_gets_a_problem_not_a_crash(crm, running) -> None:
    server = running(crm)
    reply = _raw(server, b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400") and b"application/problem+json" in reply
    reply = _raw(server, b"BR{EW /pot HTTP/1.1\r\nHost: x\r\n\r\n")  # not a method token
    assert reply.startswith(b"HTTP/1.1 501") and b"application/problem+json" in reply
    assert len(crm.journal) == 0  # no well-formed request, nothing to journal
    reply = _raw(server, b"BREW /pot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")  # a token, just unknown
    assert reply.startswith(b"HTTP/1.1 404") and b"application/problem+json" in reply
    assert requests.get(f"{server.url}/nope", timeout=5).status_code == 404  # still serving


def test_head_has_no_body(crm, running) -> None:
    server = running(crm)
    response = requests.head(f"{server.url}/v1/accounts", timeout=5)
    assert response.status_code == 405 and response.content == b""


def test_wait_idle_waits_for_requests_in_progress(get_token, running) -> None:
    release, entered = threading.Event(), threading.Event()
    crm = build("crm", Scenario("g", (on("GET /v1/accounts", Gate(release, entered)),)))
    server = running(crm)
    headers = {"Authorization": f"Bearer {get_token(crm)}"}
    thread = threading.Thread(
        target=requests.get, args=(f"{server.url}/v1/accounts",), kwargs={"headers": headers, "timeout": 10}
    )
    thread.start()
    try:
        assert entered.wait(5)
        assert server.wait_idle(timeout=0.05) is False
    finally:
        release.set()
    assert server.wait_idle(timeout=5) is True
    thread.join(5)
    assert crm.journal.entries()[-1].response.delivery is Delivery.WRITTEN
