"""A fault-injecting TCP proxy on loopback, put between an S3 client and the S3 endpoint.

It forwards bytes unchanged, but parses each request's head (request line, ``Content-Length``) so that,
when armed, it can kill the endpoint in the middle of one chosen PUT: only part of the body reaches
the endpoint, then the connection to the endpoint is reset. The client then sees either a reset
connection (``mode="reset"``) or, after its whole body was swallowed, a ``503 Slow Down`` answer
(``mode="503"``), as from a load balancer whose backend died. A real socket fault, not a mock: the
client library, its retries and the endpoint each see what a network failure looks like.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

Mode = Literal["reset", "503"]

SLOW_DOWN = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>SlowDown</Code>"
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@dataclass(frozen=True)
class Cut:
    """One fault that fired: which request, how long its body was, how much reached the endpoint."""

    request_line: str
    target: str  # the request target, percent-decoded: ``/<bucket>/<key>``
    content_length: int
    forwarded: int
    mode: Mode


@dataclass
class _Fault:
    match: str
    fraction: float
    mode: Mode
    times: int | None  # None: every matching PUT


@dataclass
class FaultyProxy:
    """``127.0.0.1:<port>`` -> ``upstream``; one thread per client connection."""

    upstream: tuple[str, int]
    requests: list[str] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: _Fault | None = None
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="faulty-proxy", daemon=True)
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arm(self, match: str, *, fraction: float = 0.5, mode: Mode = "reset", times: int | None = 1) -> None:
        """Cut the next ``times`` PUTs whose percent-decoded request target contains ``match`` after
        ``fraction`` of their body (at least one byte, never all of it)."""
        with self._lock:
            self._fault = _Fault(match, fraction, mode, times)

    def disarm(self) -> None:
        with self._lock:
            self._fault = None

    def close(self) -> None:
        self._stop.set()
        self._accepter.join(5)
        self._listener.close()
        for t in self._threads:
            t.join(5)

    # --- internals ----------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(t)
            t.start()

    def _take_fault(self, method: str, target: str) -> _Fault | None:
        """The armed fault if this request is one it cuts (counting it), else None."""
        with self._lock:
            f = self._fault
            if f is None or method != "PUT" or f.match not in target:
                return None
            if f.times is not None:
                f.times -= 1
                if f.times <= 0:
                    self._fault = None
            return f

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _reset(client)
            return
        try:
            _Connection(self, client, upstream).run()
        except OSError:
            pass  # a peer went away: the connection is over, as it would be through a real network
        finally:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()


def _reset(s: socket.socket) -> None:
    """Close with an RST, not a FIN: the peer's next read or write fails with ECONNRESET."""
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        s.close()


class _Connection:
    """One client connection: responses pass through raw; requests are framed by their heads."""

    def __init__(self, proxy: FaultyProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self.buf = b""
        self.body_left = 0  # bytes of the current request's body still to come from the client
        self.raw = False  # a body framing this proxy does not parse (chunked): pass everything through
        self.fault: _Fault | None = None
        self.cut_at = 0  # body bytes still to forward before the cut
        self.head = ""
        self.target = ""
        self.length = 0
        self.forwarded = 0  # body bytes of the current request sent to the endpoint

    def run(self) -> None:
        while not self.proxy._stop.is_set():
            ready, _, _ = select.select([self.client, self.upstream], [], [], 0.2)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                if s is self.upstream:
                    self.client.sendall(data)
                elif not self._from_client(data):
                    return

    def _from_client(self, data: bytes) -> bool:
        """Forward what the client sent; False once the connection is finished (cut)."""
        if self.raw:
            self.upstream.sendall(data)
            return True
        self.buf += data
        while self.buf:
            if self.body_left:
                chunk, self.buf = self.buf[: self.body_left], self.buf[self.body_left :]
                self.body_left -= len(chunk)
                if self.fault is not None and len(chunk) >= self.cut_at:
                    self._send_body(chunk[: self.cut_at])
                    return self._cut()
                self._send_body(chunk)
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return True  # the head is not complete yet
            head, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
            self._start_request(head)
        return True

    def _start_request(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.head = lines[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.proxy.requests.append(f"{self.head} (chunked: passed through, never cut)")
            self.raw = True
            self.upstream.sendall(head + self.buf)
            self.buf = b""
            return
        self.length = self.body_left = int(headers.get("content-length", "0"))
        method, _, rest = self.head.partition(" ")
        self.target = unquote(rest.rsplit(" ", 1)[0])
        self.proxy.requests.append(f"{method} {self.target}")
        self.fault = self.proxy._take_fault(method, self.target) if self.length > 1 else None
        if self.fault is not None:
            self.cut_at = min(max(1, int(self.length * self.fault.fraction)), self.length - 1)
        self.forwarded = 0
        self.upstream.sendall(head)

    def _send_body(self, chunk: bytes) -> None:
        self.upstream.sendall(chunk)
        self.forwarded += len(chunk)
        self.cut_at -= len(chunk)

    def _cut(self) -> bool:
        """The endpoint dies mid-body: reset its connection; the client gets an RST or a 503."""
        assert self.fault is not None
        self.proxy.cuts.append(Cut(self.head, self.target, self.length, self.forwarded, self.fault.mode))
        _reset(self.upstream)
        if self.fault.mode == "reset":
            _reset(self.client)
            return False
        # 503: swallow the rest of the body, so that the client reads the answer rather than a reset.
        left = self.body_left
        self.client.settimeout(10)
        while left > 0:
            data = self.client.recv(min(left, 65536))
            if not data:
                return False
            left -= len(data)
        self.client.sendall(
            b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
            + f"Content-Length: {len(SLOW_DOWN)}\r\nConnection: close\r\n\r\n".encode()
            + SLOW_DOWN
        )
        with contextlib.suppress(OSError):
            self.client.shutdown(socket.SHUT_WR)
        return False
