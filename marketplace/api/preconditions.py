"""Conditional requests. ``If-Match``: a client sends back the ETag (the ``etag``) of what it
read, and its change is refused if that changed since (``412 plan_changed``, ``412
review_changed``), rather than made on terms or words it never saw. ``If-None-Match``: a client
holding a package asks for it only if it changed (``304 Not Modified``)."""

from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter


def if_match(request) -> list[str] | None:
    """The fingerprints ``If-Match`` accepts, or None without one (or with ``*``). Weak tags
    never match (HTTP compares ``If-Match`` strongly); a malformed header matches nothing."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags == ["*"]:
        return None
    return [tag[1:-1] for tag in tags if tag.startswith('"')]


def if_none_match(request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (a quoted tag), so the client holds what it
    tags: compared weakly (``W/"x"`` matches ``"x"``, RFC 9110 13.1.2); ``*`` names any. A
    malformed header names nothing."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = parse_etags(header)
    return tags == ["*"] or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}


def if_match_parameter(what: str, code: str, instead: str) -> OpenApiParameter:
    """``If-Match`` as the schema publishes it: the tag of ``what`` as read, and what a
    ``what`` changed since is refused ``412 <code>`` ``instead`` of."""
    return OpenApiParameter(
        "If-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description=f"The {what}'s ETag (its etag) as you read it: a {what} changed since is "
        f"refused with 412 {code} instead of {instead}.",
    )
