"""What a new API client and a new operator look for first: every API route with its methods in
the README's endpoint table, and every environment variable settings.py reads in the docs."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLResolver, get_resolver

ROOT = Path(settings.BASE_DIR)
README = (ROOT / "README.md").read_text()
DOCS = "\n".join([README, *(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))])
METHODS = ("get", "post", "put", "patch", "delete")


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def _path(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route).replace("^", "").replace("$", "")
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _api_operations() -> list[tuple[str, str]]:
    operations = []
    for route, callback in _routes(get_resolver().url_patterns):
        view = getattr(callback, "cls", None)
        if not route.startswith("api/v1/") or view is None:
            continue
        actions = getattr(callback, "actions", None)
        methods = list(actions) if actions else [m for m in METHODS if hasattr(view, m)]
        operations += [(method.upper(), _path(route)) for method in methods]
    return operations


def _documented_operations() -> set[tuple[str, str]]:
    """(method, path) of each entry of the table, "`GET /api/v1/x/{id}`" or
    "`GET`/`PATCH /api/v1/x/{id}`", with every placeholder written as {}."""
    section = README.split("## API endpoints", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for entry in re.findall(r"(?:`[A-Z]+`/)*`[A-Z]+ /api/v1/[^`]*`", section):
        path = re.sub(r"\{\w+\}", "{}", re.search(r"/api/v1/[^`]*", entry).group())
        documented |= {(method, path) for method in re.findall(r"`([A-Z]+)", entry)}
    return documented


OPERATIONS = _api_operations()


def test_the_url_conf_has_api_operations_to_check():
    assert ("POST", "/api/v1/orders") in OPERATIONS
    assert ("DELETE", "/api/v1/tenant/members/{pk}") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_readme_names_every_api_operation(method, path):
    # Placeholder names differ ({pk} in the URL conf, {id} in the docs); the rest must not.
    shape = re.sub(r"\{\w+\}", "{}", path)
    assert (method, shape) in _documented_operations(), f"README.md does not name {method} {path}"


def _environment_variables() -> set[str]:
    source = (ROOT / "edgeplug" / "settings.py").read_text()
    return set(
        re.findall(
            r"(?:env(?:\.\w+)?|_secret|_number|_seconds|_percent|_rate|_email_address|_base_url|_url_config)"
            r'\(\s*"([A-Z][A-Z0-9_]+)"',
            source,
        )
    )


def test_settings_reads_environment_variables_to_check():
    assert {
        "DATABASE_URL",
        "SECRET_KEY",
        "BILLING_DUNNING_DAYS",
        "BILLING_SELLER_EMAIL",
        "PUBLIC_BASE_URL",
    } <= _environment_variables()


@pytest.mark.parametrize("name", sorted(_environment_variables()))
def test_the_docs_name_every_environment_variable(name):
    assert re.search(rf"`{name}`", DOCS), f"no document names {name} (edgeplug/settings.py)"
