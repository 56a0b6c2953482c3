"""SPDX licence ids as the security scan reads them, with `license-expression` (its SPDX list
ships in the package, so offline): which entries name a licence this scan knows. Light on
purpose (no SBOM parsing): the web process validates a policy's licence lists with it."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

REF_PREFIX = "licenseref-"


@functools.cache
def spdx_licensing() -> Licensing:
    return get_spdx_licensing()


def unknown_license_ids(ids: Iterable[str]) -> list[str]:
    """Of a policy list's entries, those that are not one licence this scan compares a
    component's licence with: an SPDX id it knows or a ``LicenseRef-``, alone or ``WITH`` an
    exception. Anything else (an unknown id, ``A OR B``, a bare exception) matches no
    component, so an allow or deny list holding it says what it does not do."""
    unknown = []
    for entry in ids:
        try:
            parsed = spdx_licensing().parse(entry)
        except ExpressionError:
            unknown.append(entry)
            continue
        one_licence = isinstance(parsed, LicenseWithExceptionSymbol) or (
            isinstance(parsed, LicenseSymbol) and not parsed.is_exception
        )
        if not one_licence or unknown_keys(parsed):
            unknown.append(entry)
    return unknown


def unknown_keys(expression: object) -> list[str]:
    licensing = spdx_licensing()
    unknown = []
    for symbol in licensing.license_symbols(expression, decompose=True):
        key = symbol.key
        if key not in licensing.known_symbols and not key.casefold().startswith(REF_PREFIX):
            unknown.append(key)
    return unknown
