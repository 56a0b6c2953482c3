"""The slug rule: a tenant's slug is the ``vendor`` its packages' manifests name, so it is the
manifest's rule (``manifest.schema.json`` states this pattern for ``vendor``, ``name`` and
``agent_type``; a test holds the two together). Pure Python, no Django."""

import re

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
SLUG_RULE = (
    "1 to 64 lowercase letters a-z, digits and hyphens, starting and ending with a letter or digit"
)

# The schema's pattern is ECMA-262, where "$" matches only at the very end: "\Z" here, as the
# manifest's validator reads it, so "acme\n" is no slug either.
_SLUG = re.compile(SLUG_PATTERN.removesuffix("$") + r"\Z", re.ASCII)


def is_slug(text: str) -> bool:
    return _SLUG.match(text) is not None


def slug_as_typed(text: str) -> str:
    """A slug (a tenant's short name, say) as a person types it, in any case and with spaces
    around, as the slug it may be: slugs are lowercase."""
    return text.strip().lower()
