"""The outbound client refuses what FEDERATION.md rule 4 refuses, before any byte is sent."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tontine_federation import outbound
from tontine_federation.outbound import (
    AddressRefused,
    BodyTooLarge,
    DeadlineExceeded,
    OutboundClient,
    TooManyRedirects,
    URLRefused,
    address_allowed,
)

MiB = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}) and "Transfer-Encoding" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        Handler.seen.append(("POST", self.path, self.headers.get("Host", "")))
        self._send(202, b"got " + body)

    def do_GET(self) -> None:
        Handler.seen.append(("GET", self.path, self.headers.get("Host", "")))
        path = self.path
        port = self.server.server_address[1]
        if path == "/ok":
            self._send(200, b'{"ok": true}', {"Content-Type": "application/activity+json"})
        elif path.startswith("/hops/"):
            n = int(path.rsplit("/", 1)[1])
            target = "/ok" if n == 0 else f"/hops/{n - 1}"
            self._send(302, headers={"Location": target})
        elif path == "/to-private":
            self._send(302, headers={"Location": "http://10.0.0.7/secret"})
        elif path == "/to-metadata":
            self._send(301, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        elif path == "/to-internal-name":
            self._send(307, headers={"Location": f"http://internal.example:{port}/ok"})
        elif path == "/to-file":
            self._send(302, headers={"Location": "file:///etc/passwd"})
        elif path == "/big-declared":
            self._send(200, b"x" * (MiB + 1))
        elif path == "/big-undeclared":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"y" * (128 * 1024))
        elif path == "/gzip-bomb":
            body = gzip.compress(b"\0" * (8 * MiB))
            self._send(200, body, {"Content-Encoding": "gzip", "Content-Length": str(len(body))})
        elif path == "/gzip-ok":
            body = gzip.compress(b"hello " * 100)
            self._send(200, body, {"Content-Encoding": "gzip", "Content-Length": str(len(body))})
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"z")
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self._send(404)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def loopback() -> OutboundClient:
    return OutboundClient(allow_loopback=True, timeout=5)


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names in the returned dict resolve to the listed addresses; others fail."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host in answers:
            out = []
            for ip in answers[host]:
                family = socket.AF_INET6 if ":" in ip else socket.AF_INET
                sockaddr = (ip, port, 0, 0) if ":" in ip else (ip, port)
                out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
            return out
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    return answers


def test_fetches_from_loopback_only_when_allowed(server: str, loopback: OutboundClient) -> None:
    response = loopback.get(f"{server}/ok")
    assert response.status == 200
    assert response.json() == {"ok": True}
    assert response.content_type == "application/activity+json"

    with pytest.raises(AddressRefused):
        OutboundClient(timeout=5).get(f"{server}/ok".replace("http:", "https:"))
    assert len(Handler.seen) == 1


def test_plain_http_refused_by_default() -> None:
    with pytest.raises(URLRefused):
        OutboundClient().get("http://example.org/actor")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/x",
        "file:///etc/passwd",
        "gopher://example.org/",
        "https://user:pw@example.org/",
        "https:///nohost",
        "https://[::1/",
        "javascript:alert(1)",
    ],
)
def test_refuses_bad_urls(url: str) -> None:
    with pytest.raises(URLRefused):
        OutboundClient(allow_loopback=True).get(url)


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "::1",
        "169.254.169.254",
        "100.100.100.200",
        "fd00:ec2::254",
        "fe80::1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "ff02::1",
        "240.0.0.1",
        "100.64.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "198.18.0.1",
    ],
)
def test_refuses_non_public_answers(ip: str, fake_dns: dict[str, list[str]]) -> None:
    fake_dns["peer.example"] = [ip]
    assert not address_allowed(ip)
    with pytest.raises(AddressRefused):
        OutboundClient().get("https://peer.example/actor")


def test_public_addresses_are_allowed() -> None:
    assert address_allowed("93.184.216.34")
    assert address_allowed("2606:2800:220:1:248:1893:25c8:1946")
    assert address_allowed("127.0.0.1", allow_loopback=True)
    assert not address_allowed("10.0.0.1", allow_loopback=True)
    assert not address_allowed("not an ip")


def test_one_private_answer_among_public_ones_is_refused(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["rebind.example"] = ["93.184.216.34", "10.0.0.5"]
    with pytest.raises(AddressRefused):
        OutboundClient().get("https://rebind.example/")


def test_numeric_host_spellings_are_resolved_then_refused() -> None:
    for url in ("https://2130706433/", "https://0x7f.0.0.1/", "https://127.1/", "https://[::1]/"):
        with pytest.raises(AddressRefused):
            OutboundClient().get(url)


def test_connects_to_the_checked_address_with_the_name_as_host(
    server: str, loopback: OutboundClient, fake_dns: dict[str, list[str]]
) -> None:
    port = server.rsplit(":", 1)[1]
    fake_dns["peer.example"] = ["127.0.0.1"]
    response = loopback.get(f"http://peer.example:{port}/ok")
    assert response.status == 200
    assert Handler.seen[-1] == ("GET", "/ok", f"peer.example:{port}")


def test_follows_up_to_three_redirects(server: str, loopback: OutboundClient) -> None:
    response = loopback.get(f"{server}/hops/2")
    assert response.status == 200
    assert response.url == f"{server}/ok"
    with pytest.raises(TooManyRedirects):
        loopback.get(f"{server}/hops/3")
    assert [p for _m, p, _h in Handler.seen][-4:] == ["/hops/3", "/hops/2", "/hops/1", "/hops/0"]


@pytest.mark.parametrize("path", ["/to-private", "/to-metadata"])
def test_redirect_to_private_address_is_refused(
    server: str, loopback: OutboundClient, path: str
) -> None:
    with pytest.raises(AddressRefused):
        loopback.get(f"{server}{path}")


def test_redirect_to_name_resolving_private_is_refused(
    server: str, loopback: OutboundClient, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["internal.example"] = ["10.0.0.9"]
    with pytest.raises(AddressRefused):
        loopback.get(f"{server}/to-internal-name")


def test_redirect_to_other_scheme_is_refused(server: str, loopback: OutboundClient) -> None:
    with pytest.raises(URLRefused):
        loopback.get(f"{server}/to-file")


@pytest.mark.parametrize("path", ["/big-declared", "/big-undeclared", "/gzip-bomb"])
def test_bodies_over_one_mib_are_cut_off(server: str, loopback: OutboundClient, path: str) -> None:
    with pytest.raises(BodyTooLarge):
        loopback.get(f"{server}{path}")


def test_gzip_bodies_are_decoded(server: str, loopback: OutboundClient) -> None:
    assert loopback.get(f"{server}/gzip-ok").body == b"hello " * 100


def test_slow_responses_hit_the_overall_deadline(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        OutboundClient(allow_loopback=True, timeout=0.5).get(f"{server}/drip")
    assert time.monotonic() - started < 2


def test_post_is_signed_afresh_and_not_redirected(server: str, loopback: OutboundClient) -> None:
    calls: list[str] = []

    def sign(method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        calls.append(f"{method} {url}")
        return {**headers, "Signature": "test"}

    response = loopback.post(f"{server}/inbox", b"hello", sign=sign)
    assert response.status == 202
    assert response.body == b"got hello"
    assert calls == [f"POST {server}/inbox"]


def test_client_follows_the_app_setting(make_app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TONTINE_FEDERATION_ALLOW_LOOPBACK", raising=False)
    plain = make_app(plugins=["gift", "federation"])
    assert not outbound.client(plain.config).allow_loopback
    table = make_app(plugins=["gift", "federation"], FEDERATION={"allow_loopback": True})
    assert outbound.client(table.config).allow_loopback
    monkeypatch.setenv("TONTINE_FEDERATION_ALLOW_LOOPBACK", "1")
    assert outbound.client(plain.config).allow_loopback
    production = dict(plain.config, ENV="production")
    assert not outbound.client(production).allow_loopback


# --- TLS: we connect to the checked address, and still verify the certificate for the name ---


def _certificate(tmp_path, names: list[str]):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_server(tmp_path):  # type: ignore[no-untyped-def]
    import ssl

    cert, key = _certificate(tmp_path, ["peer.example"])
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    Handler.seen = []
    yield httpd.server_address[1], cert
    httpd.shutdown()
    httpd.server_close()


def test_tls_to_the_checked_address_with_the_name_verified(tls_server, fake_dns) -> None:  # type: ignore[no-untyped-def]
    port, cert = tls_server
    fake_dns["peer.example"] = ["127.0.0.1"]
    fake_dns["other.example"] = ["127.0.0.1"]
    client = OutboundClient(allow_loopback=True, timeout=5, ca_certs=cert)
    response = client.get(f"https://peer.example:{port}/ok")
    assert response.status == 200 and Handler.seen[-1][2] == f"peer.example:{port}"
    from tontine_federation.outbound import ConnectionFailed

    with pytest.raises(ConnectionFailed):  # the certificate is not for this name
        client.get(f"https://other.example:{port}/ok")
    with pytest.raises(ConnectionFailed):  # not signed by a CA we trust
        OutboundClient(allow_loopback=True, timeout=5).get(f"https://peer.example:{port}/ok")


def test_slow_dns_hits_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        time.sleep(2)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        OutboundClient(timeout=0.3).get("https://slow-dns.example/")
    assert time.monotonic() - started < 1.5
