"""Every admin list whose filters offer a field's choices says when its URL names none of
them (``FilterParametersChecked``), as the invoice list did alone: orders, entitlements,
plans, downloads, runs, workflow packages and advisory imports applied ``?status=complete``
as given and showed an empty list, which reads as "none"."""

import pytest
from django.contrib import admin

pytestmark = pytest.mark.django_db


def _choice_filters():
    """(changelist URL, parameter, its field's verbose name, its choices) of every registered
    admin's list filter on a field with choices."""
    import edgeplug.urls  # noqa: F401  (the admin site, every app's admin registered)

    found = []
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.list_filter:
            if not isinstance(name, str) or "__" in name:
                continue  # a filter class, or a field across a relation
            field = model._meta.get_field(name)
            if field.flatchoices:
                url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
                choices = ", ".join(str(value) for value, _ in field.flatchoices)
                found.append((url, f"{name}__exact", str(field.verbose_name), choices))
    return found


def test_every_list_filter_on_choices_says_a_value_that_is_none_of_them(admin_session):
    client, _ = admin_session(is_superuser=True)
    filters = _choice_filters()
    assert len(filters) >= 9  # runs (3), invoices (2), orders, entitlements, plans, downloads…
    for url, parameter, title, choices in filters:
        page = client.get(url, {parameter: "bogus"})
        assert page.status_code == 200, (url, page.status_code)
        said = [str(message) for message in page.context["messages"]]
        expected = f"{title.capitalize()} filter ignored: 'bogus' is not one of {choices}."
        assert said == [expected], (url, said)
