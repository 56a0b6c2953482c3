"""A refused upload as a person reads it: the stable code, the detail sentence, and where
docs/package-format.md explains the rule (each code of its Refusals table has an anchor)."""

from dataclasses import dataclass

from django.urls import reverse

from edgeplug.errors import DomainError
from marketplace.portal.docs import PACKAGE_FORMAT, page_anchors

# Codes explained outside the Refusals table, by the section that does.
_SECTION_OF = {
    "malformed_key": "signing",
    "malformed_signature": "signing",
    "bad_signature": "signing",
    "unknown_key": "signing",
    "key_revoked": "signing",
    "not_canonicalizable": "signing",
    "vendor_mismatch": "manifestjson",
    "version_exists": "one-package-per-version",
}


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str
    status: int
    where: str
    doc_url: str

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "detail": self.detail,
            "where": self.where,
            "doc_url": self.doc_url,
        }


def doc_anchor(code: str) -> str:
    """The anchor of docs/package-format.md that explains ``code``'s rule; "" for a code the
    format does not explain (the platform's: the store down, a throttle)."""
    anchor = _SECTION_OF.get(code, f"refusal-{code}")
    return anchor if anchor in page_anchors(PACKAGE_FORMAT) else ""


def refusal(error: DomainError) -> Refusal:
    extra = error.extra()
    anchor = doc_anchor(error.code)
    where = extra.get("entry") or extra.get("path") or ""
    return Refusal(
        code=error.code,
        detail=error.detail,
        status=error.status,
        where=str(where),
        doc_url=f"{reverse('portal:package-format')}#{anchor}" if anchor else "",
    )
