"""A JSON parser that refuses oversized bodies before reading them into memory."""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "Request body is too large."


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_BYTES
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > limit:
            raise PayloadTooLarge(f"JSON bodies are limited to {limit} bytes.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except exceptions.ParseError as exc:
            raise exceptions.ParseError(
                f"Malformed JSON: {exc.detail}", code="malformed_json"
            ) from exc
        except RecursionError as exc:
            raise exceptions.ParseError(
                "Malformed JSON: nested too deeply.", code="malformed_json"
            ) from exc
        if _has_nul(data):
            raise exceptions.ParseError(
                "Strings may not contain the NUL character (\\u0000).", code="nul_character"
            )
        return data


def _has_nul(data) -> bool:
    """Whether any string (key or value) holds U+0000, which no database text column stores."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
