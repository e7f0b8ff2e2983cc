"""HTTP signatures: draft-cavage (as Mastodon sends) and RFC 9421, signed and verified.

FEDERATION.md rule 1. A request is trusted only when its signature covers the request
target, our own host, a date or creation time inside a small window and — whenever there
is a body — a digest that matches the body. Accepted: cavage ``rsa-sha256`` (and ``hs2019``
with an RSA or Ed25519 key), RFC 9421 ``rsa-v1_5-sha256``, ``rsa-pss-sha512``, ``ed25519``
and ``ecdsa-p256-sha256``; RSA keys of at least 2048 bits. A header we cannot parse is the
client's fault (400); a signature that does not hold is 401. ``Policy.relaxed()`` turns the
policy checks off so that published test vectors (old dates, a 1024-bit key) can check the
primitive itself. Who owns the key (rule 2) is the caller's question.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures import InvalidSignature as HMSInvalidSignature
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from tontine.errors import DomainError

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
#: ``key_lookup(key_id) -> public key``; raises ``SignatureRejected`` when it cannot.
KeyLookup = Callable[[str], PublicKey]

RFC9421_ALGORITHMS: dict[str, type[algorithms.HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "ed25519": algorithms.ED25519,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
}
CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
MAX_HEADER = 8192


class SignatureRejected(DomainError):
    """The request is not signed the way we require (401)."""

    status = 401


class SignatureMismatch(SignatureRejected):
    """Well-formed and within policy, but the key does not verify it (perhaps a rotated key)."""


class MalformedSignature(SignatureRejected):
    """A signature or digest header we cannot parse (400)."""

    status = 400


@dataclass(frozen=True)
class Policy:
    """What a signature must prove besides being mathematically valid."""

    #: Our own authority (``host`` or ``host:port``); None skips the host check.
    authority: str | None
    #: How old a date/created may be; None skips the date checks.
    window: timedelta | None = timedelta(hours=1)
    future_skew: timedelta = timedelta(minutes=5)
    min_rsa_bits: int = 2048
    #: Require coverage of target, host, date/created and (with a body) the digest.
    require_coverage: bool = True
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def relaxed(cls) -> Policy:
        """No policy at all: only the primitive (published test vectors)."""
        return cls(authority=None, window=None, min_rsa_bits=0, require_coverage=False)


def joined_headers(headers: Any) -> dict[str, str]:
    """Header fields as a verifier reads them: lower-cased names, repeated fields joined."""
    joined: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else str(value)
    return joined


@dataclass(frozen=True)
class SignedRequest:
    """What a verifier needs from an HTTP request; ``url`` is absolute, as *we* know it."""

    method: str
    url: str
    headers: Mapping[str, str]  #: lower-cased names, repeated fields joined with ", "
    body: bytes = b""

    @classmethod
    def build(cls, method: str, url: str, headers: Any, body: bytes = b"") -> SignedRequest:
        return cls(method.upper(), url, joined_headers(headers), body)

    @property
    def target(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Verified:
    key_id: str
    scheme: str  #: "cavage" or "rfc9421"
    algorithm: str
    covered: tuple[str, ...]


# --- digests -----------------------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """``Digest: SHA-256=…`` (RFC 3230, what Mastodon sends and checks)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def content_digest_header(body: bytes) -> str:
    """``Content-Digest: sha-256=:…:`` (RFC 9530)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def _check_digest(value: str, body: bytes) -> None:
    """Check a ``Digest`` header against the body; at least one known algorithm must match."""
    seen = False
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep or not encoded:
            raise MalformedSignature("malformed Digest header")
        algorithm = name.strip().lower()
        if algorithm not in DIGESTS:
            continue
        try:
            expected = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedSignature("malformed Digest header") from exc
        if expected != DIGESTS[algorithm](body).digest():
            raise SignatureRejected("the body does not match its digest")
        seen = True
    if not seen:
        raise SignatureRejected("no SHA-256 or SHA-512 digest of the body")


def _check_content_digest(value: str, body: bytes) -> None:
    try:
        parsed = http_sf.parse(value.encode(), tltype="dictionary")
    except Exception as exc:  # http_sf raises ValueError and friends
        raise MalformedSignature("malformed Content-Digest header") from exc
    seen = False
    for algorithm, (member, _params) in parsed.items():
        if algorithm not in DIGESTS:
            continue
        if not isinstance(member, bytes):
            raise MalformedSignature("malformed Content-Digest header")
        if member != DIGESTS[algorithm](body).digest():
            raise SignatureRejected("the body does not match its digest")
        seen = True
    if not seen:
        raise SignatureRejected("no sha-256 or sha-512 content digest of the body")


# --- keys ------------------------------------------------------------------------------------


def load_public_key(pem: str | bytes) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except (ValueError, TypeError) as exc:
        raise SignatureRejected("the signer's public key cannot be read") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise SignatureRejected("unsupported key type")
    return key


def load_private_key(pem: str | bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(
        pem.encode() if isinstance(pem, str) else pem, password=None
    )
    assert isinstance(
        key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    )
    return key


def public_key_pem(private: PrivateKey) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _check_key_strength(key: PublicKey, policy: Policy) -> None:
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < policy.min_rsa_bits:
        raise SignatureRejected(f"RSA keys under {policy.min_rsa_bits} bits are refused")
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP256R1):
        raise SignatureRejected("only P-256 elliptic-curve keys are accepted")


# --- shared policy checks --------------------------------------------------------------


def _normal_authority(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    for default in (":443", ":80"):
        if value.endswith(default):
            return value[: -len(default)]
    return value


def _check_host(value: str | None, policy: Policy) -> None:
    if policy.authority is None:
        return
    if value is None or _normal_authority(value) != _normal_authority(policy.authority):
        raise SignatureRejected("the signed host is not this instance")


def _check_time(when: datetime, policy: Policy, what: str) -> None:
    if policy.window is None:
        return
    now = policy.now()
    if when > now + policy.future_skew:
        raise SignatureRejected(f"the signed {what} is in the future")
    if when < now - policy.window:
        raise SignatureRejected(f"the signed {what} is too old")


#: IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), the form every sender uses today.
_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" (\d{4}) (\d\d):(\d\d):(\d\d) GMT"
)
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _parse_http_date(value: str) -> datetime:
    """An HTTP date (RFC 9110 5.6.7): IMF-fixdate read here, the obsolete forms by ``email``."""
    try:
        fixdate = _IMF_FIXDATE.fullmatch(value)
        if fixdate is not None:
            day, month, year, hour, minute, second = fixdate.groups()
            return datetime(
                int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC
            )
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise MalformedSignature("malformed Date header") from exc
    if parsed is None:
        raise MalformedSignature("malformed Date header")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_timestamp(value: Any, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise MalformedSignature(f"malformed {what}") from exc


# --- verification ------------------------------------------------------------------------


def verify(request: SignedRequest, key_lookup: KeyLookup, policy: Policy) -> Verified:
    """Verify the request's signature under ``policy``; raise ``SignatureRejected`` if not."""
    headers = request.headers
    if any(len(headers.get(h, "")) > MAX_HEADER for h in ("signature", "signature-input")):
        raise MalformedSignature("signature header too long")
    if "signature-input" in headers:
        return _verify_rfc9421(request, key_lookup, policy)
    if "signature" in headers:
        return _verify_cavage(request, headers["signature"], key_lookup, policy)
    authorization = headers.get("authorization", "")
    if authorization[:10].lower() == "signature ":
        return _verify_cavage(request, authorization[10:], key_lookup, policy)
    raise SignatureRejected("the request is not signed")


_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|(\d+))\s*(?:,|$)')


@lru_cache(maxsize=64)
def parse_cavage(value: str) -> Mapping[str, str]:
    """``keyId="…",algorithm="…",headers="…",signature="…"`` → mapping; 400 when malformed.

    Remembered for the few latest headers: the inbox reads the keyId (for the block list)
    before it verifies the same header.
    """
    params: dict[str, str] = {}
    position = 0
    value = value.strip()
    while position < len(value):
        match = _CAVAGE_PARAM.match(value, position)
        if match is None or match.end() == position:
            raise MalformedSignature("malformed Signature header")
        name = match.group(1)
        if name in params:
            raise MalformedSignature(f"repeated {name} in Signature header")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        position = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise MalformedSignature(f"Signature header without {required}")
    return MappingProxyType(params)


def cavage_signing_string(
    request: SignedRequest, covered: list[str], params: Mapping[str, str]
) -> str:
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {request.method.lower()} {request.target}")
        elif name in ("(created)", "(expires)"):
            value = params.get(name[1:-1])
            if value is None:
                raise MalformedSignature(f"{name} is covered but not given")
            lines.append(f"{name}: {value}")
        else:
            if name not in request.headers:
                raise SignatureRejected(f"the covered header {name!r} is missing")
            lines.append(f"{name}: {request.headers[name].strip()}")
    return "\n".join(lines)


def _verify_cavage(
    request: SignedRequest, header: str, key_lookup: KeyLookup, policy: Policy
) -> Verified:
    params = parse_cavage(header)
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in CAVAGE_ALGORITHMS:
        raise SignatureRejected(f"signature algorithm {algorithm!r} is not accepted")
    covered = params.get("headers", "date").lower().split()
    if not covered or len(set(covered)) != len(covered):
        raise MalformedSignature("the covered headers are empty or repeated")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedSignature("the signature is not base64") from exc
    if "date" in covered:
        _check_time(_parse_http_date(request.headers.get("date", "")), policy, "date")
    if "(created)" in covered:
        _check_time(_from_timestamp(params.get("created"), "created"), policy, "creation time")
    expires = params.get("expires") if "(expires)" in covered else None
    if (
        expires is not None
        and policy.window is not None
        and _from_timestamp(expires, "expires") < policy.now()
    ):
        raise SignatureRejected("the signature has expired")
    if "host" in covered:
        _check_host(request.headers.get("host"), policy)
    if policy.require_coverage:
        _require(
            "(request-target)" in covered,
            "host" in covered,
            "date" in covered or "(created)" in covered,
            "digest" in covered or not _has_body(request),
        )
    if "digest" in covered:
        _check_digest(request.headers.get("digest", ""), request.body)
    message = cavage_signing_string(request, covered, params).encode()
    key = key_lookup(params["keyId"])
    _check_key_strength(key, policy)
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey) and algorithm == "hs2019":
            key.verify(signature, message)
        else:
            raise SignatureRejected("the key does not match the signature algorithm")
    except CryptoInvalidSignature as exc:
        raise SignatureMismatch("the signature does not verify") from exc
    return Verified(params["keyId"], "cavage", algorithm, tuple(covered))


def _has_body(request: SignedRequest) -> bool:
    return bool(request.body) or request.method not in ("GET", "HEAD")


def _require(target: bool, host: bool, date: bool, digest: bool) -> None:
    missing = [
        name
        for name, ok in (
            ("the request target", target),
            ("the host", host),
            ("a date", date),
            ("the body digest", digest),
        )
        if not ok
    ]
    if missing:
        raise SignatureRejected("the signature does not cover " + ", ".join(missing))


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, public: Any = None, private: Any = None):
        self.key_id, self.public, self.private = key_id, public, private

    def resolve_public_key(self, key_id: str) -> Any:
        return self.public if key_id == self.key_id else None

    def resolve_private_key(self, key_id: str) -> Any:
        return self.private if key_id == self.key_id else None


def _algorithm_for(key: PublicKey | PrivateKey) -> str:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "rsa-v1_5-sha256"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    return "ecdsa-p256-sha256"


def _key_fits(key: PublicKey, algorithm: str) -> bool:
    if algorithm.startswith("rsa-"):
        return isinstance(key, rsa.RSAPublicKey)
    if algorithm == "ed25519":
        return isinstance(key, ed25519.Ed25519PublicKey)
    return isinstance(key, ec.EllipticCurvePublicKey)


def _verify_rfc9421(request: SignedRequest, key_lookup: KeyLookup, policy: Policy) -> Verified:
    try:
        inputs = http_sf.parse(request.headers["signature-input"].encode(), tltype="dictionary")
        http_sf.parse(request.headers.get("signature", "").encode(), tltype="dictionary")
    except Exception as exc:
        raise MalformedSignature("malformed Signature-Input or Signature header") from exc
    if len(inputs) != 1:
        raise SignatureRejected("exactly one signature is expected")
    ((_label, (members, params)),) = inputs.items()
    if not isinstance(members, list) or not isinstance(params.get("keyid"), str):
        raise MalformedSignature("malformed Signature-Input header")
    covered = [str(name) for name, _p in members]
    if "created" in params:
        _check_time(_from_timestamp(params["created"], "created"), policy, "creation time")
    if "date" in covered:
        _check_time(_parse_http_date(request.headers.get("date", "")), policy, "date")
    if "host" in covered:
        _check_host(request.headers.get("host"), policy)
    if "@authority" in covered:
        _check_host(urlsplit(request.url).netloc, policy)
    if policy.require_coverage:
        names_host = "@authority" in covered or "host" in covered
        _require(
            "@method" in covered
            and ("@target-uri" in covered or ("@path" in covered and names_host)),
            names_host or "@target-uri" in covered,  # the target URI carries our authority
            "created" in params or "date" in covered,
            "content-digest" in covered or not _has_body(request),
        )
    if "content-digest" in covered:
        _check_content_digest(request.headers.get("content-digest", ""), request.body)
    key_id = params["keyid"]
    key = key_lookup(key_id)
    _check_key_strength(key, policy)
    if "alg" in params:
        candidates = [str(params["alg"])]
    elif isinstance(key, rsa.RSAPublicKey):
        candidates = ["rsa-v1_5-sha256", "rsa-pss-sha512"]
    else:
        candidates = [_algorithm_for(key)]
    for algorithm in candidates:
        if algorithm not in RFC9421_ALGORITHMS:
            raise SignatureRejected(f"signature algorithm {algorithm!r} is not accepted")
        if not _key_fits(key, algorithm):
            raise SignatureRejected("the key does not match the signature algorithm")
        verifier = HTTPMessageVerifier(
            signature_algorithm=RFC9421_ALGORITHMS[algorithm], key_resolver=_OneKey(key_id, key)
        )
        verifier.require_created = False
        verifier.max_clock_skew = policy.future_skew
        if policy.window is None:
            verifier.max_clock_skew = timedelta(days=365 * 100)
        try:
            verifier.verify(request, max_age=policy.window)
            break
        except HMSInvalidSignature as exc:
            if algorithm == candidates[-1]:
                raise SignatureMismatch(f"the signature does not verify: {exc}") from exc
        except HTTPMessageSignaturesException as exc:
            raise MalformedSignature(f"malformed signature: {exc}") from exc
    return Verified(key_id, "rfc9421", algorithm, tuple(covered))


# --- signing -------------------------------------------------------------------------------


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str]


def sign_cavage(
    key: PrivateKey,
    key_id: str,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers with ``Host``, ``Date``, ``Digest`` (with a body) and a cavage ``Signature``."""
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in ("host", "date", "digest")}
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    default = {"https": ":443", "http": ":80"}.get(parts.scheme.lower(), "")
    out["Host"] = host[: -len(default)] if default and host.endswith(default) else host
    out["Date"] = email.utils.format_datetime(now or datetime.now(UTC), usegmt=True)
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        out["Digest"] = digest_header(body)
        covered.append("digest")
    request = SignedRequest.build(method, url, out, body or b"")
    message = cavage_signing_string(request, covered, {}).encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature, algorithm = key.sign(message, padding.PKCS1v15(), hashes.SHA256()), "rsa-sha256"
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        signature, algorithm = key.sign(message), "hs2019"
    else:
        raise TypeError("cavage signatures need an RSA or Ed25519 key")
    encoded = base64.b64encode(signature).decode()
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",'
        f'signature="{encoded}"'
    )
    return out


def sign_rfc9421(
    key: PrivateKey,
    key_id: str,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    *,
    algorithm: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers with ``Content-Digest`` (with a body) and RFC 9421 ``Signature-Input``/``Signature``."""
    algorithm = algorithm or _algorithm_for(key)
    drop = ("signature", "signature-input", "content-digest")
    message = _Message(
        method.upper(), url, {k: v for k, v in (headers or {}).items() if k.lower() not in drop}
    )
    covered = ["@method", "@target-uri", "@authority"]
    if body is not None:
        message.headers["Content-Digest"] = content_digest_header(body)
        covered.append("content-digest")
    signer = HTTPMessageSigner(
        signature_algorithm=RFC9421_ALGORITHMS[algorithm], key_resolver=_OneKey(key_id, private=key)
    )
    signer.sign(
        message,
        key_id=key_id,
        created=now or datetime.now(UTC),
        label="sig1",
        covered_component_ids=covered,
        use_existing_digest="Content-Digest" in message.headers,
    )
    return message.headers


def request_signer(
    key_pem: str, key_id: str, scheme: str = "cavage"
) -> Callable[..., dict[str, str]]:
    """A ``sign(method, url, headers, body)`` for ``outbound``: a fresh signature per request."""
    key = load_private_key(key_pem)
    sign = sign_cavage if scheme == "cavage" else sign_rfc9421

    def signer(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, str]:
        return sign(key, key_id, method, url, headers, body)

    return signer
