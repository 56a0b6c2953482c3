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
        for entry in model_admin.list_filter:
            name = entry[0] if isinstance(entry, tuple) else entry  # (field, its filter class)
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


def _date_fields():
    """(changelist URL, a date or datetime field's name) of every registered admin's model."""
    from django.db.models import DateField

    import edgeplug.urls  # noqa: F401

    return [
        (f"/admin/{model._meta.app_label}/{model._meta.model_name}/", field.name)
        for model in admin.site._registry
        for field in model._meta.concrete_fields
        if isinstance(field, DateField)  # DateTimeField is one
    ]


def test_a_year_no_date_holds_is_ignored_on_every_list(admin_session):
    """``?created_at__year=0`` (or 10000) was a 500 on every list with a date, finance's
    invoices, accounts and plans among them: Python's dates hold years 1 to 9999, and Django
    reads the year when the query runs, past its own check of the URL's lookups."""
    client, _ = admin_session(is_superuser=True)
    fields = _date_fields()
    assert len(fields) >= 20
    for url, name in fields:
        title = name.replace("_", " ").capitalize()
        for parameter, year, rule in (
            (f"{name}__year", "0", "year from 1 to 9999"),
            (f"{name}__year__gte", "10000", "year from 1 to 9999"),
            # An ISO year's end is the next one's start: 9999 was a 500 too.
            (f"{name}__iso_year", "9999", "ISO year from 1 to 9998"),
        ):
            page = client.get(url, {parameter: year})
            assert page.status_code == 200, (url, parameter, page.status_code)
            said = [str(message) for message in page.context["messages"]]
            assert said == [f"{title} filter ignored: {year!r} is no {rule}."], (url, said)
    kept = client.get("/admin/billing/invoice/", {"period_start__year": "2026"})
    assert kept.status_code == 200 and not list(kept.context["messages"])
