"""How a portal page calls an action: as the signed-in person, flashing what happened.

Every write from a page goes through ``perform``: it passes ``actor`` and ``request`` as every
action expects, flashes the success sentence, and hands a refusal (a ``DomainError``) back so
the page can show it beside its form (``render_form``, with the refusal's HTTP status). Buttons
that return to the page they were on use ``perform_and_flash``: the refusal becomes a flashed
``code: detail`` line instead, and so do the errors of their form if it does not validate
(``flash_form_errors``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render

from edgeplug.audit.services import record_if_denied
from edgeplug.core.error_views import refusal_page_response
from edgeplug.errors import FIELD_NUL_CODE, DomainError, NulCharacter


@dataclass(frozen=True)
class Outcome:
    result: Any = None
    error: DomainError | None = None


def perform(
    request, action: Callable[..., Any], *args, success: Callable[[Any], str] | str, **kwargs
) -> Outcome:
    """Call ``action(*args, **kwargs, actor=..., request=...)``; on success flash ``success``
    (a sentence, or a function of the action's result that returns one)."""
    try:
        result = action(*args, actor=request.user, request=request, **kwargs)
    except DomainError as exc:
        record_if_denied(request, exc)
        return Outcome(error=exc)
    messages.success(request, success(result) if callable(success) else success)
    return Outcome(result=result)


def perform_and_flash(request, action: Callable[..., Any], *args, **kwargs) -> Outcome:
    """``perform``, with a refusal flashed as an error rather than returned to a form."""
    outcome = perform(request, action, *args, **kwargs)
    if outcome.error is not None:
        messages.error(request, f"{outcome.error.code}: {outcome.error.detail}")
    return outcome


def flash_form_errors(request, form) -> None:
    """The errors of a form posted by a button that returns to its page (which shows no bound
    form to put them beside), flashed one by one."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def render_form(
    request, template: str, context: dict, *, form, error: DomainError | None
) -> HttpResponse:
    """The page with its form: the refusal's status, 400 for a form that did not validate (a
    field holding NUL is refused as ``nul_character``, as the API refuses it)."""
    if error is None:
        error = _nul_refusal(form)
    _mark_field(form, error)
    if error:
        return refusal_page_response(request, template, {**context, "form": form}, error)
    status = 400 if form.errors else 200
    return render(request, template, {**context, "form": form, "error": None}, status=status)


def _nul_refusal(form) -> NulCharacter | None:
    """A field's own validator refused the form for a NUL character (Django's
    ``ProhibitNullCharactersValidator``, which every form ``CharField`` runs): the refusal the
    API gives, in the form's words (the field by its label, not JSON's ``\\u0000``)."""
    for name in form.errors:
        if name in form.fields and form.has_error(name, FIELD_NUL_CODE):
            return NulCharacter(
                f"{form[name].label} holds a NUL character (U+0000), an invisible control "
                "character that cannot be stored (often pasted from a binary file): delete it.",
                field=name,
            )
    return None


def _mark_field(form, error: DomainError | None) -> None:
    """A refusal that names one of the form's fields (``unknown_user``'s ``email``) marks that
    field too, in its own words: the refusal says what, the field where to correct it. A form
    whose fields the actions name otherwise says which is which (``refusal_fields``)."""
    if error is None:
        return
    name = getattr(form, "refusal_fields", {}).get(error.field, error.field)
    if name not in form.fields or form.has_error(name):
        return
    form.add_error(name, error.detail.removeprefix(f"{error.field}: "))
