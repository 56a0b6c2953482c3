"""Form fields for numbers a person types, on the portal's and the admin's pages, the one
reading of a yes-or-no query parameter (the API's filters, the finance exports), and a JSON
document typed into the admin (``DocumentJSONField``).

Django's number fields read what ``Decimal`` and ``int`` read: ``1e2`` as 100, ``1_0`` as 10,
ten in Arabic-Indic digits as 10. A price typed so is taken at a value the person may not
have meant, so these read only ASCII digits (``edgeplug.text``) and refuse the rest."""

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import JSONString

from edgeplug.text import ascii_decimal, ascii_integer, json_document


class _ReadAsTyped:
    """``to_python`` by the field's ``read`` (the text in, the number or None out): None for
    an empty value, else the number, else the field's ``invalid`` error."""

    read: Callable[[str], Any]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = self.read(str(value))
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class TypedDecimalField(_ReadAsTyped, forms.DecimalField):
    """A number such as ``12.50`` or ``-3`` (``ascii_decimal``)."""

    default_error_messages = {"invalid": "Enter a number in the digits 0-9, such as 12.50."}
    read = staticmethod(ascii_decimal)


class TypedWholeNumberField(_ReadAsTyped, forms.IntegerField):
    """A whole number such as ``12`` (``ascii_integer``), blanks around it ignored."""

    default_error_messages = {"invalid": "Enter a whole number in the digits 0-9, such as 12."}
    read = staticmethod(lambda text: ascii_integer(text.strip()))


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or ``1``/``0``), None when empty; anything else is ``invalid``,
    where Django's field reads an unknown value as "not given" and a filter or an option
    would silently not apply."""

    widget = forms.TextInput  # NullBooleanSelect maps any unknown value to None before this
    default_error_messages = {"invalid": "Enter true or false."}
    TRUE, FALSE = ("true", "True", "1"), ("false", "False", "0")

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in self.TRUE:
            return True
        if value in self.FALSE:
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class _DocumentDecoder(json.JSONDecoder):
    """``json_document``'s reading, its refusals as the ``JSONDecodeError`` Django's JSONField
    catches (in ``bound_data`` too, which shows the refused text again)."""

    def decode(self, s, *args, **kwargs):
        try:
            return json_document(s)
        except json.JSONDecodeError:
            raise
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", s, 0) from None
        except ValueError as refusal:  # a key twice, NaN, a number past a double
            raise json.JSONDecodeError(str(refusal), s, 0) from None


class DocumentJSONField(forms.JSONField):
    """A JSON document typed into a form, read as every document a person writes is
    (``json_document``): a key named twice, ``NaN`` or a nesting deeper than the parser
    follows is the field's error, saying which, where Django's field kept a key's last copy
    unsaid and answered a deep nesting with a 500."""

    default_error_messages = {"invalid": "Enter a valid JSON document: %(reason)s."}

    def __init__(self, *, decoder=None, **kwargs):
        super().__init__(decoder=decoder or _DocumentDecoder, **kwargs)

    def to_python(self, value):
        if self.disabled or value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        if isinstance(value, JSONString):
            return value
        try:
            document = json.loads(value, cls=self.decoder)
        except json.JSONDecodeError as refusal:
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"reason": refusal.msg}
            ) from None
        return JSONString(document) if isinstance(document, str) else document
