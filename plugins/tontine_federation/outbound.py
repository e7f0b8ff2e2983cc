"""The one outbound HTTP client: every fetch and every delivery goes through ``request``.

Other servers are hostile territory (FEDERATION.md rule 4). A URL is accepted only with an
http(s) scheme (plain http only when loopback is allowed), without credentials, and only
when *every* address its host resolves to is public. We resolve the name ourselves and
connect to the address we checked (the ``Host`` header and TLS SNI/certificate check still
use the name), so a second DNS answer cannot swap in a private address (DNS rebinding).
Redirects are followed by hand, at most ``max_redirects``, each one checked again. Bodies are
streamed and counted (compressed bodies after decompression) and cut off past
``max_bytes``; the whole exchange, redirects included, has one deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

USER_AGENT = "Tontine/0.1 (+https://w3id.org/tontine)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: Cloud metadata services; all are non-global already, listed so the intent is explicit.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")

#: ``sign(method, url, headers, body) -> headers``: called afresh for every request sent.
Signer = Callable[[str, str, dict[str, str], bytes | None], dict[str, str]]


class FetchError(Exception):
    """An outbound request was refused or failed; the message says why (for logs and admins)."""


class AddressRefused(FetchError):
    """The URL's host is, or resolves to, an address we never connect to."""


class URLRefused(FetchError):
    """Bad scheme, credentials in the URL, no host, or an unparseable URL."""


class TooManyRedirects(FetchError):
    pass


class BodyTooLarge(FetchError):
    pass


class DeadlineExceeded(FetchError):
    pass


class ConnectionFailed(FetchError):
    pass


@dataclass(frozen=True)
class Response:
    status: int
    url: str  #: the final URL, after redirects
    headers: dict[str, str] = field(default_factory=dict)  #: lower-cased names
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests monkeypatch ``socket.getaddrinfo``)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConnectionFailed(f"cannot resolve {host}: {exc}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = str(sockaddr[0]).split("%", 1)[0]
        if ip not in addresses:
            addresses.append(ip)
    return addresses


_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="tontine-dns")


def _resolve_within(host: str, port: int, deadline: float | None) -> list[str]:
    """``resolve`` bounded by the exchange's deadline (a slow DNS server cannot stall us)."""
    if deadline is None:
        return resolve(host, port)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded("no time left to resolve the host")
    future = _RESOLVER.submit(resolve, host, port)
    try:
        return future.result(timeout=remaining)
    except FutureTimeout as exc:
        raise DeadlineExceeded(f"resolving {host} took too long") from exc


def address_allowed(ip: str, allow_loopback: bool = False) -> bool:
    """True when we may connect to ``ip``: public unicast, or loopback when allowed."""
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.teredo is not None:
            return False
        if addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        elif addr in NAT64:
            addr = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        elif addr.sixtofour is not None:
            addr = addr.sixtofour
    if addr.is_loopback:
        return allow_loopback
    if addr in METADATA_ADDRESSES:
        return False
    return not (
        addr.is_multicast
        or addr.is_unspecified
        or addr.is_link_local
        or addr.is_private
        or addr.is_reserved
        or not addr.is_global
    )


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  #: as it goes in the Host header and TLS SNI (IDNA-encoded)
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


class OutboundClient:
    """Fetch and deliver under the rules above; build one with ``client()`` in an app."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        timeout: float = 10.0,
        max_bytes: int = 1024 * 1024,
        max_redirects: int = 3,
        user_agent: str = USER_AGENT,
        ca_certs: str | None = None,
    ):
        self.ca_certs = ca_certs  #: None: the system's trust store (tests pass their own CA)
        self.allow_loopback = allow_loopback
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent

    # --- public API ----------------------------------------------------------------------

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, sign: Signer | None = None
    ) -> Response:
        return self.request("GET", url, headers=headers, sign=sign)

    def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        sign: Signer | None = None,
    ) -> Response:
        """POST without following redirects (a delivery is not re-sent elsewhere)."""
        return self.request("POST", url, headers=headers, body=body, sign=sign, follow=False)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        sign: Signer | None = None,
        follow: bool = True,
    ) -> Response:
        deadline = time.monotonic() + self.timeout
        for _hop in range(self.max_redirects + 1):
            target = self.check_url(url, deadline)
            sent = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, identity"}
            sent.update(headers or {})
            if sign is not None:
                sent = sign(method, url, sent, body)
            response = self._send(target, method, url, sent, body, deadline)
            location = response.headers.get("location")
            if not (follow and response.status in REDIRECT_STATUSES and location):
                return response
            url = urljoin(url, location)
            if response.status == 303:
                method, body = "GET", None
        raise TooManyRedirects(f"more than {self.max_redirects} redirects")

    def check_url(self, url: str, deadline: float | None = None) -> _Target:
        """Parse and vet ``url``; resolve its host and vet every address. Raises FetchError."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise URLRefused(f"malformed URL: {exc}") from exc
        scheme = parts.scheme.lower()
        allowed = ("https", "http") if self.allow_loopback else ("https",)
        if scheme not in allowed:
            raise URLRefused(f"scheme {scheme or '(none)'!r} is not allowed")
        if parts.username is not None or parts.password is not None:
            raise URLRefused("credentials in URLs are not allowed")
        if not parts.hostname:
            raise URLRefused("URL has no host")
        try:
            host = parts.hostname.encode("idna").decode("ascii").lower().rstrip(".")
        except UnicodeError as exc:
            raise URLRefused(f"invalid host name: {exc}") from exc
        if not host:
            raise URLRefused("URL has no host")
        port = port or (443 if scheme == "https" else 80)
        addresses = _resolve_within(host, port, deadline)
        if not addresses:
            raise ConnectionFailed(f"{host} has no address")
        refused = [ip for ip in addresses if not address_allowed(ip, self.allow_loopback)]
        if refused:
            raise AddressRefused(f"{host} resolves to a refused address ({refused[0]})")
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        return _Target(scheme, host, port, path, tuple(addresses))

    # --- one exchange ----------------------------------------------------------------------

    def _send(
        self,
        target: _Target,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        deadline: float,
    ) -> Response:
        headers = {k: v for k, v in headers.items() if k.lower() != "host"}
        headers["Host"] = target.host_header
        last_error: Exception | None = None
        for ip in target.addresses:
            remaining = self._remaining(deadline)
            timeout = urllib3.Timeout(connect=remaining, read=remaining)
            pool: urllib3.HTTPConnectionPool
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    ip,
                    target.port,
                    timeout=timeout,
                    retries=False,
                    maxsize=1,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=self.ca_certs,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                )
            else:
                pool = urllib3.HTTPConnectionPool(
                    ip, target.port, timeout=timeout, retries=False, maxsize=1
                )
            try:
                raw = pool.urlopen(
                    method,
                    target.path,
                    body=body,
                    headers=headers,
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    decode_content=False,
                    assert_same_host=False,
                )
            except Urllib3Timeout as exc:
                pool.close()
                raise DeadlineExceeded(f"{target.host} did not answer in time") from exc
            except Urllib3Error as exc:
                pool.close()
                last_error = exc
                continue
            try:
                data = self._read_body(raw, deadline)
                received = {k.lower(): v for k, v in raw.headers.items()}
                return Response(status=raw.status, url=url, headers=received, body=data)
            except Urllib3Timeout as exc:
                raise DeadlineExceeded(f"{target.host} was too slow") from exc
            except (Urllib3Error, OSError) as exc:
                raise ConnectionFailed(f"{target.host}: {exc}") from exc
            finally:
                raw.release_conn()
                pool.close()
        raise ConnectionFailed(f"cannot connect to {target.host}: {last_error}")

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"no answer within {self.timeout:g}s")
        return remaining

    def _read_body(self, raw: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        declared = raw.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise BodyTooLarge(f"body of {declared} bytes is over {self.max_bytes}")
        encoding = raw.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "", "gzip", "x-gzip"):
            raise ConnectionFailed(f"unsupported content encoding {encoding!r}")
        inflate = zlib.decompressobj(wbits=47) if "gzip" in encoding else None
        chunks: list[bytes] = []
        total = 0
        while True:
            remaining = self._remaining(deadline)
            sock = getattr(raw.connection, "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = raw.read1(65536)
            if not chunk:
                break
            if inflate is not None:
                try:
                    chunk = inflate.decompress(chunk, self.max_bytes + 1 - total)
                except zlib.error as exc:
                    raise ConnectionFailed(f"corrupt compressed body: {exc}") from exc
                if inflate.unconsumed_tail:
                    raise BodyTooLarge(f"body is over {self.max_bytes} bytes")
            total += len(chunk)
            if total > self.max_bytes:
                raise BodyTooLarge(f"body is over {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def client(config: Mapping[str, Any] | None = None) -> OutboundClient:
    """The outbound client configured from the current app (or ``config``)."""
    from tontine_federation.settings import allow_loopback, setting

    return OutboundClient(
        allow_loopback=allow_loopback(config),
        timeout=float(setting("fetch_timeout_seconds", config)),
        max_bytes=int(setting("max_fetch_bytes", config)),
        max_redirects=int(setting("max_redirects", config)),
    )
