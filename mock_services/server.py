"""Serving a mock over real sockets: ThreadingHTTPServer on loopback only.

The transport's jobs are the ones a plain handler cannot do: read the
request off the wire, carry out a response's ``stall`` (holding it for
``virtual / clock.dilation`` real seconds, at most ``MAX_REAL_STALL``,
while watching whether the client hangs up) and ``drop`` (close the
connection without answering), then tell the service how delivery went.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer

from .clock import MAX_REAL_STALL
from .errors import PortUnavailable, UnsafeHost
from .journal import Delivery
from .messages import Request, Response
from .problems import PROBLEM_MEDIA_TYPE
from .service import MockService

__all__ = ["LOOPBACK_HOSTS", "RunningServer", "serve"]

# localhost is pinned to 127.0.0.1 rather than resolved: resolvers can be told anything.
LOOPBACK_HOSTS = {
    "127.0.0.1": ("127.0.0.1", socket.AF_INET),
    "localhost": ("127.0.0.1", socket.AF_INET),
    "::1": ("::1", socket.AF_INET6),
}
MAX_BODY = 10 * 1024 * 1024
_POLL = 0.05  # seconds between checks for shutdown while holding a response
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 section 5.6.2


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its service and can cut idle connections."""

    daemon_threads = True

    def __init__(
        self,
        host: str,
        port: int,
        family: socket.AddressFamily,
        service: MockService,
        log: Callable[[str], None] | None,
        sock: socket.socket | None = None,
    ) -> None:
        self.address_family = family
        self.service = service
        self.log = log
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition()
        super().__init__((host, port), _Handler, bind_and_activate=sock is None)
        if sock is not None:  # already bound and listening (in a sandbox's network, by its fork server)
            self.socket.close()
            self.socket = sock
            self.server_address = sock.getsockname()
            self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def busy(self, delta: int) -> None:
        """Count requests being served, so callers can wait for quiet."""
        with self._idle:
            self._busy += delta
            if self._busy == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being served; False if still busy after ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that can stall for seconds.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Shut down every open connection so keep-alive threads stop waiting."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client


class _Handler(BaseHTTPRequestHandler):
    """Turns wire requests into ``Request`` objects and carries out delivery instructions."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # real seconds an idle keep-alive connection may sit
    # Head and body leave in one segment: with Nagle on and a split write, a
    # keep-alive client waits out a 40 ms delayed ACK on every request.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server dispatches to do_<METHOD>. Every well-formed method token
        # reaches the service, which answers 405 + Allow where the path exists
        # (RFC 9110 section 15.5.6) and 404 where it does not.
        if name.startswith("do_") and _TOKEN.fullmatch(name[3:]):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        self.server.busy(+1)
        try:
            body = self._read_body()
            if body is not None:
                self._deliver(Request.build(self.command, self.path, tuple(self.headers.items()), body))
        finally:
            self.server.busy(-1)

    def _deliver(self, request: Request) -> None:
        service = self.server.service
        response = service.handle(request)
        delivery, waited = Delivery.WRITTEN, 0.0
        if response.stall > 0:
            delivery, waited = self._hold(response.stall)
        if delivery is Delivery.WRITTEN and response.drop:
            delivery = Delivery.DROPPED
        # Settle *before* writing: once the client has its answer, the journal
        # and the virtual clock must already say so (a grader may look at once).
        service.settle(response, delivery, waited)
        if delivery is Delivery.WRITTEN:
            if not self._write(response):
                delivery = Delivery.CLIENT_GONE
                service.settle(response, delivery, waited)
        else:
            self.close_connection = True  # dropped, or nobody left to answer
        if self.server.log is not None:
            self.server.log(f"{request.method} {request.target} -> {response.status} ({delivery.value})")

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if not raw.strip().isdigit():
            self._refuse(400, "bad-request", "Content-Length is not a number")
            return None
        length = int(raw)
        if length > MAX_BODY:
            self._refuse(413, "content-too-large", f"bodies are limited to {MAX_BODY} bytes")
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        # RFC 9112 section 7.1: size line, data, CRLF ... then a zero-size chunk and trailers.
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self._refuse(400, "bad-request", "malformed chunked body")
                return None
            if size < 0:
                self._refuse(400, "bad-request", "malformed chunked body")
                return None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers: ignored
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self._refuse(413, "content-too-large", f"bodies are limited to {MAX_BODY} bytes")
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _hold(self, virtual: float) -> tuple[Delivery, float]:
        """Hold the response in real (dilated) time; report whether the client left, and when."""
        real = self.server.service.clock.real_stall(virtual)
        rate = virtual / real  # virtual seconds per real second (above nominal dilation when capped)
        started = time.monotonic()
        watching = True
        while (remaining := real - (time.monotonic() - started)) > 0 and not self.server.stopping.is_set():
            if not watching:
                self.server.stopping.wait(remaining)
                break
            readable, _, _ = select.select([self.connection], [], [], min(remaining, _POLL))
            if not readable:
                continue
            try:
                peeked = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                peeked = b""
            if not peeked:  # EOF: the client gave up waiting (its timeout fired)
                return Delivery.CLIENT_GONE, round(min(virtual, (time.monotonic() - started) * rate), 3)
            watching = False  # the client pipelined more bytes; EOF can no longer be seen
        return Delivery.WRITTEN, virtual

    def _write(self, response: Response) -> bool:
        """Write the response; return False if the client had already gone."""
        try:
            self.send_response_only(response.status)
            self.send_header("Server", f"iclab-mock/{self.server.service.name}")
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False
        return True

    def _refuse(self, status: int, slug: str, detail: str) -> None:
        # Framing errors never reach the service: there is no well-formed request to journal.
        self.close_connection = True
        body = json.dumps(
            {
                "type": f"https://iclab.example/problems/{slug}",
                "title": detail,
                "status": status,
                "detail": detail,
                "instance": getattr(self, "path", "/"),
            }
        ).encode()
        self._write(Response(status, (("Content-Type", PROBLEM_MEDIA_TYPE), ("Connection", "close")), body))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer malformed requests (bad request line, unknown method) with problem+json."""
        self._refuse(
            code, "bad-request" if code < 500 else "not-implemented", message or explain or "malformed request"
        )

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from http.server
        """Stay quiet: the journal is the log."""


class RunningServer:
    """A mock listening on loopback in a daemon thread; a context manager."""

    def __init__(self, service: MockService, server: _Server, thread: threading.Thread) -> None:
        self.service = service
        self._server = server
        self._thread = thread
        self.host, self.port = server.server_name, server.server_port
        bracketed = f"[{self.host}]" if server.address_family == socket.AF_INET6 else self.host
        self.url = f"http://{bracketed}:{self.port}"

    def close(self) -> None:
        """Stop accepting, end held responses and idle connections, join every thread."""
        if self._server.stopping.is_set():
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.cut_connections()
        self._server.server_close()  # joins the handler threads (block_on_close)
        self._thread.join()

    def wait_idle(self, timeout: float = MAX_REAL_STALL + 1.0) -> bool:
        """Wait until no request is in progress (held responses included); False on timeout.

        A grader calls this before judging the journal, so a response still
        being held for a client that went away has been settled.
        """
        return self._server.wait_idle(timeout)

    @property
    def closed(self) -> bool:
        """Tell whether close() has run."""
        return self._server.stopping.is_set()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RunningServer {self.service.name} at {self.url}>"


def serve(
    service: MockService, port: int = 0, host: str = "127.0.0.1", log: Callable[[str], None] | None = None,
    *, admin: bool = False, sock: socket.socket | None = None,
) -> RunningServer:
    """Start ``service`` on a loopback port (0: any free one) in a daemon thread.

    ``admin``: answer the ``/__admin`` API (journal, reset, scenario, clock),
    for a person poking a mock by hand; off by default, and always off in
    grading, where a submission could otherwise rewrite the evidence.
    ``sock``: a loopback socket already listening (the sandbox's network
    hands one out), served instead of binding a new one.
    """
    if host not in LOOPBACK_HOSTS:
        raise UnsafeHost(f"mocks listen on loopback only (127.0.0.1, localhost, ::1), not {host!r}")
    address, family = LOOPBACK_HOSTS[host]
    if sock is not None and sock.getsockname()[0] not in ("127.0.0.1", "::1"):
        raise UnsafeHost(f"mocks listen on loopback only, not {sock.getsockname()[0]!r}")
    service.admin_enabled = admin
    try:
        server = _Server(address, port, family, service, log, sock)
    except OSError as exc:
        raise PortUnavailable(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from exc
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": _POLL}, name=f"iclab-mock-{service.name}", daemon=True
    )
    thread.start()
    return RunningServer(service, server, thread)
