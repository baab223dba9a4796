"""HTTP for kg's remote stores: one request with the endpoint's credentials, held to
its time-out as a whole and to a size cap, its failures turned into messages for people.

Used by :mod:`kg.remote` (the SPARQL 1.1 Protocol) and :mod:`kg.push` (the Graph Store
Protocol). Redirects are reported, never followed (see :class:`_NoRedirect`).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urlsplit

from kg.errors import KgError, QueryTimeout, printable, shown
from kg.netauth import CREDENTIALS_HELP, authorization

MESSAGE_MAX = 300  # characters of a server's error page shown
#: Bytes of an answer kg reads at most (SPARQL JSON of millions of rows).
MAX_ANSWER = 512 << 20


class RemoteError(KgError):
    """The endpoint could not be reached or gave no usable answer (exit 2). *retriable*
    says whether trying again later may help (a refused connection, a 5xx, a 429)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retriable: bool = False,
        retry_after: float | None = None,
        said: str = "",
    ):
        super().__init__(message)
        self.said = said  # the server's own message, trimmed
        self.status = status
        self.retriable = retriable
        self.retry_after = retry_after  # seconds, from the server's Retry-After


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: Message = field(default_factory=Message)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: a POST would turn into a GET without its query, and
    the credentials could go to another host. The 3xx is reported instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class _Watchdog:
    """Shuts the request's connection down when *timeout* seconds have passed.

    A socket time-out bounds each read only: a server trickling a byte of its headers
    or body now and then would hold kg for ever. At the deadline the socket is shut
    down, which ends the read in progress; :func:`send` then reports the time-out."""

    def __init__(self, timeout: float):
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def connection(self, cls: type[http.client.HTTPConnection]):
        """*cls* made to report its socket here once connected (and shut it at once
        when the deadline passed while connecting)."""
        watch = self

        class Watched(cls):  # type: ignore[valid-type, misc]
            def connect(self) -> None:
                super().connect()
                with watch._lock:
                    watch._sockets.append(self.sock)
                    if watch.fired:
                        _shut(self.sock)

        return Watched

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread


def _opener(watch: _Watchdog) -> urllib.request.OpenerDirector:
    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(watch.connection(http.client.HTTPConnection), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(
                watch.connection(http.client.HTTPSConnection),
                req,
                context=self._context,
            )

    return urllib.request.build_opener(_NoRedirect, Http, Https)


def send(
    method: str,
    url: str,
    *,
    timeout: float,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    what: str = "the endpoint",
) -> Response:
    """One HTTP request with the endpoint's credentials (see :mod:`kg.netauth`); the whole
    answer read within *timeout* seconds, at most :data:`MAX_ANSWER` bytes. Raises
    :class:`RemoteError` for a connection that fails, an HTTP error (with the server's
    message, trimmed) or an answer that is not HTTP, and :class:`QueryTimeout` when
    *timeout* passes."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    request.add_header("User-Agent", "kg (SPARQL 1.1 Protocol client)")
    auth = authorization(url)
    if auth:
        request.add_header("Authorization", auth)
    with _Watchdog(timeout) as watch:
        try:
            with _opener(watch).open(request, timeout=timeout) as answer:
                try:
                    body = _read(answer, url)
                finally:
                    if watch.fired:  # the body was cut short by the watchdog
                        raise _timeout(url, timeout)  # the true cause
                return Response(answer.status, _media_type(answer.headers), body, answer.headers)
        except urllib.error.HTTPError as exc:
            error = _http_error(exc, method, url, what)
            raise (_timeout(url, timeout) if watch.fired else error) from None
        except TimeoutError:
            raise _timeout(url, timeout) from None
        except urllib.error.URLError as exc:
            if watch.fired or isinstance(exc.reason, TimeoutError):
                raise _timeout(url, timeout) from None
            raise _unreachable(url, exc.reason, what) from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            # reset while reading, an SSL failure, an answer that is not HTTP...
            if watch.fired:
                raise _timeout(url, timeout) from None
            raise _unreachable(url, exc, what) from None


def _read(answer, url: str) -> bytes:
    """The body, refused past :data:`MAX_ANSWER` bytes (a hostile or mistaken server
    could send more than the machine's memory)."""
    length = answer.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_ANSWER:
        raise _too_big(url)
    parts, size = [], 0
    while piece := answer.read1(1 << 16):
        size += len(piece)
        if size > MAX_ANSWER:
            raise _too_big(url)
        parts.append(piece)
    if length.isdigit() and size != int(length):  # read1 does not check, read() would
        raise RemoteError(
            f"{endpoint_name(url)} sent {size:,} bytes of the {int(length):,} it announced: the "
            "answer was cut short. Try again.",
            retriable=True,
        )
    return b"".join(parts)


def _too_big(url: str) -> RemoteError:
    return RemoteError(
        f"{endpoint_name(url)} answered more than {MAX_ANSWER >> 20} MiB; kg reads no "
        "more. Ask for fewer rows (a LIMIT in the query)."
    )


def _media_type(headers: Message) -> str:
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def _timeout(url: str, timeout: float) -> QueryTimeout:
    return QueryTimeout(
        f"{endpoint_name(url)} did not answer within {timeout:g} s; raise --timeout (or 'timeout' "
        "under [query] in kg.toml), or simplify the query."
    )


def _unreachable(url: str, reason: object, what: str) -> RemoteError:
    why = getattr(reason, "strerror", None) or str(reason)
    if isinstance(reason, socket.gaierror):
        hint = "check the host name"
    elif isinstance(reason, ConnectionRefusedError):
        hint = "is the server running, and is this its address and port"
    else:
        hint = "check that the server is up and reachable from here"
    return RemoteError(f"cannot reach {what} at {shown(url, 120)}: {why}; {hint}?", retriable=True)


def _http_error(exc: urllib.error.HTTPError, method: str, url: str, what: str) -> RemoteError:
    status = exc.code
    try:
        text = exc.read(4 * MESSAGE_MAX).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        text = ""
    message = " ".join(text.split())
    if len(message) > MESSAGE_MAX:
        message = message[: MESSAGE_MAX - 1] + "…"
    said = f": {printable(message)}" if message else ""
    head = f"{what} at {shown(url, 120)} answered {method} with HTTP {status} {exc.reason}{said}"
    if status in (301, 302, 303, 307, 308):
        where = exc.headers.get("Location", "?")
        return RemoteError(f"{head}. It redirects to {shown(where, 120)}: give that URL instead.")
    if status in (401, 403):
        return RemoteError(f"{head}. It wants credentials, or others: {CREDENTIALS_HELP}.")
    retriable = status >= 500 or status == 429
    after = (exc.headers.get("Retry-After") or "").strip()
    return RemoteError(
        head + ".",
        status=status,
        retriable=retriable,
        retry_after=float(after) if after.isdigit() else None,
        said=printable(message),
    )


def endpoint_name(url: str) -> str:
    """ "the endpoint SCHEME://HOST:PORT", for messages: the path and query left out."""
    parts = urlsplit(url)
    return f"the endpoint {parts.scheme}://{parts.netloc}"
