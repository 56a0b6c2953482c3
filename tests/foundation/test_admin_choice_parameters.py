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


def _held_value_filters():
    """(changelist URL, parameter, its field's verbose name) of every registered admin's list
    filter on a text field without choices or on a relation to a row named by its id: those
    ``FilterParametersChecked`` reads against the rows."""
    from django.db.models import AutoField, CharField

    import edgeplug.urls  # noqa: F401

    found = []
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.list_filter:
            if not isinstance(name, str) or "__" in name:
                continue
            field = model._meta.get_field(name)
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            if field.many_to_one and isinstance(field.target_field, AutoField):
                found.append((url, f"{field.name}__id__exact", str(field.verbose_name)))
            elif isinstance(field, CharField) and not field.flatchoices:
                found.append((url, field.name, str(field.verbose_name)))
    return found


def test_every_list_filter_on_held_values_says_a_value_no_row_holds(admin_session):
    """The audit log (``?action=LOGIN``, ``?tenant__id__exact=999999``), billing accounts
    (``?currency=eur``) and money to give back showed an empty list for them, read as
    "none", where the invoice list said the filter was ignored."""
    client, _ = admin_session(is_superuser=True)
    filters = _held_value_filters()
    assert len(filters) >= 5
    silent = []
    for url, parameter, title in filters:
        page = client.get(url, {parameter: "999999"})
        assert page.status_code == 200, (url, page.status_code)
        said = [str(message) for message in page.context["messages"]]
        if not (len(said) == 1 and said[0].startswith(f"{title.capitalize()} filter ignored: ")):
            silent.append((url, parameter, said))
    assert silent == [], "\n".join(map(str, silent))
