"""JSON-LD contexts, bundled (FEDERATION.md rule 8): nothing is ever fetched to read JSON-LD.

Every document we publish uses ``CONTEXT``: ActivityStreams and security v1 by URL (every
fediverse server knows them) and the Tontine terms inline, so that a processor that has
never heard of Tontine still expands our listings without a network request. The same
terms are served at ``/ns`` and bundled under the namespace IRI ``TONTINE_CONTEXT_URL``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "contexts"
AS_CONTEXT_URL = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT_URL = "https://w3id.org/security/v1"
TONTINE_NAMESPACE = "https://w3id.org/tontine/ns#"
TONTINE_CONTEXT_URL = "https://w3id.org/tontine/ns"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

BUNDLED_FILES = {
    AS_CONTEXT_URL: HERE / "activitystreams.jsonld",
    SECURITY_CONTEXT_URL: HERE / "security-v1.jsonld",
    TONTINE_CONTEXT_URL: HERE / "tontine.jsonld",
}
#: Spellings other servers use for the same documents.
ALIASES = {
    "http://www.w3.org/ns/activitystreams": AS_CONTEXT_URL,
    "https://www.w3.org/ns/activitystreams.jsonld": AS_CONTEXT_URL,
    "https://w3id.org/security/v1.jsonld": SECURITY_CONTEXT_URL,
}


@cache
def bundled(url: str) -> dict[str, Any]:
    """A bundled context document; KeyError for anything we do not bundle."""
    url = ALIASES.get(url, url)
    return json.loads(BUNDLED_FILES[url].read_text(encoding="utf-8"))


def tontine_terms() -> dict[str, Any]:
    return dict(bundled(TONTINE_CONTEXT_URL)["@context"])


def context() -> list[Any]:
    """The ``@context`` of every document we publish."""
    return [AS_CONTEXT_URL, SECURITY_CONTEXT_URL, tontine_terms()]


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves bundled contexts and refuses everything else."""
    from pyld.jsonld import JsonLdError

    try:
        document = bundled(url)
    except KeyError:
        raise JsonLdError(
            "Refusing to load a context that is not bundled.",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        ) from None
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
    }
