"""A stub remote instance on loopback: serves actor documents and objects, signs requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tontine_federation.signatures import public_key_pem, sign_cavage, sign_rfc9421

AS_JSON = "application/activity+json"


@dataclass
class Stub:
    """A remote server: ``documents[path] = (status, content type, body, headers)``."""

    base: str
    documents: dict[str, tuple[int, str, bytes, dict[str, str]]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    #: POSTs received: (path, lower-cased headers, body)
    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def serve(
        self,
        path: str,
        document: Any,
        status: int = 200,
        content_type: str = AS_JSON,
        headers: dict[str, str] | None = None,
    ) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[path] = (status, content_type, body, headers or {})
        return self.base + path

    def redirect(self, path: str, location: str) -> str:
        self.documents[path] = (302, "text/plain", b"", {"Location": location})
        return self.base + path

    def add_actor(self, name: str, key: Any = None) -> RemoteActorStub:
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        actor_id = f"{self.base}/users/{name}"
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id,
            "type": "Application",
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{actor_id}/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {
                "id": f"{actor_id}#main-key",
                "owner": actor_id,
                "publicKeyPem": public_key_pem(key),
            },
        }
        self.serve(f"/users/{name}", document)
        return RemoteActorStub(self, actor_id, key, document)


@dataclass
class RemoteActorStub:
    stub: Stub
    id: str
    key: Any
    document: dict[str, Any]

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    def signed(
        self, url: str, activity: Any, scheme: str = "cavage", body: bytes | None = None
    ) -> tuple[bytes, dict[str, str]]:
        data = body if body is not None else json.dumps(activity).encode()
        sign = sign_cavage if scheme == "cavage" else sign_rfc9421
        headers = sign(self.key, self.key_id, "POST", url, {"Content-Type": AS_JSON}, data)
        return data, headers


class _Handler(BaseHTTPRequestHandler):
    stub: Stub

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.stub.hits.append(self.path)
        status, content_type, body, headers = self.stub.documents.get(
            self.path, (404, "text/plain", b"not found", {})
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.stub.hits.append("POST " + self.path)
        self.stub.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def worker() -> Callable[[], int]:
    """``worker()``: run the jobs due a moment from now, as the job worker would.

    The inbox answers 202 to a listing's ``Create``/``Update``/``Delete`` once it is
    verified and kept; the worker stores it (during a burst its job waits ``APPLY_DELAY``).
    """
    from datetime import timedelta

    from tontine.db import utcnow
    from tontine.jobs.services import run_pending
    from tontine_federation.inbox import APPLY_DELAY, forget_apply_jobs

    def run() -> int:
        done = run_pending(now=utcnow() + timedelta(seconds=2 * APPLY_DELAY))
        # The jobs ran ahead of their time: what this process counted on them to cover, they
        # no longer will (a real worker never runs a job before it is due).
        forget_apply_jobs()
        return done

    return run


@pytest.fixture
def make_remote() -> Iterator[Any]:
    """``make_remote()`` → a started ``Stub`` on its own port (its own origin)."""
    servers: list[ThreadingHTTPServer] = []

    def start() -> Stub:
        handler = type("Handler", (_Handler,), {})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        stub = Stub(base=f"http://127.0.0.1:{httpd.server_address[1]}")
        handler.stub = stub
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(httpd)
        return stub

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def remote(make_remote: Any) -> Stub:
    return make_remote()
