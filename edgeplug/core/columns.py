"""What a text column holds, read from its model field: text from elsewhere (a processor's
decline message, a mail server's answer) is cut to fit rather than failing the write, and a
check or a schema reads the same limit, never a copy of the number."""

from django.db import models


def max_length(model: type[models.Model], field: str) -> int:
    return model._meta.get_field(field).max_length


def clipped(model: type[models.Model], field: str, text: str) -> str:
    """``text`` cut to ``model.field``'s ``max_length``."""
    return text[: max_length(model, field)]
