"""The package format reference, linked from every upload refusal."""

from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from marketplace.portal.docs import PACKAGE_FORMAT, render_markdown


@require_safe
def package_format(request):
    # The renderer escapes the document's text and refuses raw HTML ("html": False).
    body = mark_safe(render_markdown(PACKAGE_FORMAT))  # noqa: S308
    return render(request, "portal/package_format.html", {"body": body})
