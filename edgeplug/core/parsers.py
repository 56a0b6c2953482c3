"""Reading JSON as every door reads it: ``read_request_body`` (strict, bounded in depth, a NUL
or lone surrogate refused naming its field) for the API's request bodies and the portal's
uploaded files, ``read_json`` beneath it (also for JSON held in a text field), and the API's
parser, which also refuses an oversized body before reading it into memory; and the refusals
of a request Django would not read (``unread_request_refusal``)."""

import codecs
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.parsers import JSONParser, get_encoding

from edgeplug.errors import (
    BadRequest,
    DomainError,
    PayloadTooLarge,
    SurrogateCharacter,
    TooManyFiles,
    TooManyFormFields,
    TooManyParameters,
)
from edgeplug.text import (
    DuplicateKey,
    finite_json_float,
    holds_lone_surrogate,
    may_hold_nul_or_lone_surrogate,
    object_without_duplicate_keys,
    refuse_json_constant,
    refuse_nul,
)


class MalformedJson(BadRequest, code="malformed_json"): ...


class DuplicateJsonKey(BadRequest, code="duplicate_json_key"): ...


def read_json(body: bytes, encoding: str = "utf-8", *, field: str | None = None):
    """The JSON document ``body`` holds, read as the API reads a request body, so the same bytes
    get the same answer at every door: ``malformed_json`` for bytes that are not text in
    ``encoding`` (a byte order mark included), for what is not JSON (``NaN`` and ``Infinity``
    are not, though Python's ``json`` reads them), for a number past a double (``1e400``,
    which Python read as infinity) and for a nesting too deep for the parser (a
    RecursionError, else a 500); ``duplicate_json_key`` for an object naming a key twice (as a
    package's manifest: Python's json kept the last); ``nul_character`` for a string holding
    U+0000 and ``surrogate_character`` for one holding half a UTF-16 pair (``\\ud800``), which
    no text column stores either. ``field`` names the request field the document was sent in,
    if one (a form's JSON text: ``edgeplug.core.serializers.JSONTextField``)."""
    data = _loads(body, encoding, field)
    if may_hold_unstorable(body, encoding):
        _refuse_unstorable(data, field)
    return data


def read_request_body(body: bytes, encoding: str = "utf-8"):
    """A request's JSON body, read as ``read_json`` reads a document: the keys of a top-level
    object are the request's fields, so a string no column stores is refused naming the field
    holding it (``field``, as a form body's field is named). A key holding one is no field to
    name (nor one to echo back)."""
    data = _loads(body, encoding, None)
    if may_hold_unstorable(body, encoding):
        if isinstance(data, dict):
            _refuse_unstorable(list(data), None)
            for field, value in data.items():
                _refuse_unstorable(value, field)
        else:
            _refuse_unstorable(data, None)
    return data


def _loads(body: bytes, encoding: str, field: str | None):
    try:
        return json.loads(
            body.decode(encoding),
            object_pairs_hook=object_without_duplicate_keys,
            parse_constant=refuse_json_constant,
            parse_float=finite_json_float,
        )
    except DuplicateKey as exc:
        raise DuplicateJsonKey(f"JSON object {exc}.", field=field) from exc
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MalformedJson(f"Malformed JSON: {exc}", field=field) from exc
    except RecursionError as exc:
        raise MalformedJson("Malformed JSON: nested too deeply.", field=field) from exc


def _refuse_unstorable(data, field: str | None) -> None:
    """Refuse ``data`` holding U+0000 (``nul_character``) or a lone surrogate
    (``surrogate_character``), naming ``field`` if one."""
    refuse_nul(data, field=field)
    if holds_lone_surrogate(data):
        raise SurrogateCharacter(field=field)


def json_body_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"JSON bodies are limited to {settings.API_MAX_JSON_BYTES} bytes.")


def unread_request_refusal(request, exc: Exception) -> DomainError | None:
    """The refusal of a request Django would not read, for the exception it raised reading it
    (in a DRF view: ``exceptions.api_exception_handler``; before one: ``error_views``), or None
    for another exception: a body over its size (``body_too_large``), too many fields
    (``too_many_fields``), too many files (``too_many_files``: over
    ``DATA_UPLOAD_MAX_NUMBER_FILES``)."""
    if isinstance(exc, RequestDataTooBig):
        return body_too_large(request)
    if isinstance(exc, TooManyFieldsSent):
        return too_many_fields(request)
    if isinstance(exc, TooManyFilesSent):
        return TooManyFiles(settings.DATA_UPLOAD_MAX_NUMBER_FILES)
    return None


def body_too_large(request) -> PayloadTooLarge:
    """The refusal of a body Django would not read (``RequestDataTooBig``: over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which is ``API_MAX_JSON_BYTES``): DRF reads a JSON or a
    form body through Django before its parser runs, so ``BoundedJSONParser``'s own check sees
    only a body under Django's limit. A JSON body is told as the parser tells it; a form, the
    limit on its fields (its files are not held to it)."""
    if request.content_type.partition(";")[0].strip().lower() == JSONParser.media_type:
        return json_body_too_large()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(f"Form fields are limited to {limit} bytes (files aside).")


def too_many_fields(request) -> TooManyParameters | TooManyFormFields:
    """The refusal of a request Django would not read (``TooManyFieldsSent``: more than
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` fields): of its query string if that holds too many
    (read first, by the middleware), else of its form body."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    query = request.META.get("QUERY_STRING", "")
    # As Python's parse_qsl, which Django's QueryDict calls, counts them.
    if query and 1 + query.count("&") > limit:
        return TooManyParameters(limit)
    return TooManyFormFields(limit)


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return self.parse_body(self.read_body(stream, parser_context), media_type, parser_context)

    def read_body(self, stream, parser_context) -> bytes:
        """The body's bytes, refused before reading when its declared length is over the limit."""
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > settings.API_MAX_JSON_BYTES:
            raise json_body_too_large()
        return stream.read()

    def parse_body(self, body: bytes, media_type, parser_context):
        return read_request_body(body, get_encoding(parser_context or {}))


def may_hold_unstorable(body: bytes, encoding: str) -> bool:
    """Whether a JSON body in ``encoding`` may hold U+0000 or a lone surrogate once parsed: in
    UTF-8 only where it holds their escapes (``edgeplug.text``), so a body without one is not
    walked (a batch of 1,000 usage events is 15,000 strings)."""
    if codecs.lookup(encoding).name != "utf-8":
        return True
    return may_hold_nul_or_lone_surrogate(body)
