"""Licence policy for SBOM components: SPDX ids and expressions against allow and deny lists.

Expressions are parsed with `license-expression` (SPDX list shipped in the package, so offline;
deprecated ids such as "GPL-2.0+" read as their current form). An expression passes when some
choice it offers passes: `A OR B` needs one of them, `A AND B` needs both. Several entries in a
component's `licenses` array all apply, like AND. A "WITH" exception is judged as the full
"ID WITH EXCEPTION" first, so an allow-listed runtime exception beats a denied base licence.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum

from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
)

from certification.security.policy import SecurityPolicy
from certification.security.sbom import SbomComponent
from certification.security.spdx import REF_PREFIX, spdx_licensing, unknown_keys


@dataclass(frozen=True)
class LicenseFinding:
    code: str
    component: str
    version: str | None
    purl: str | None
    license: str
    detail: str
    blocking: bool


class _Status(IntEnum):
    # Higher is better, so OR takes the max and AND the min.
    DENIED = 0
    NOT_ALLOWED = 1
    OK = 2


def _canonical(entry: str) -> str:
    """Case-folded canonical spelling, so "GPL-2.0+" in a list matches "GPL-2.0-or-later"."""
    try:
        parsed = spdx_licensing().parse(entry)
    except ExpressionError:
        return entry.casefold()
    return parsed.render().casefold() if parsed is not None else entry.casefold()


@functools.lru_cache(maxsize=32)
def _canonical_set(entries: frozenset[str]) -> frozenset[str]:
    return frozenset(_canonical(entry) for entry in entries)


@dataclass(frozen=True)
class _Rules:
    allow: frozenset[str]
    deny: frozenset[str]
    allow_refs: bool

    @classmethod
    def of(cls, policy: SecurityPolicy) -> _Rules:
        return cls(
            _canonical_set(policy.license_allow),
            _canonical_set(policy.license_deny),
            policy.allow_license_refs,
        )

    def plain(self, key: str) -> _Status:
        folded = key.casefold()
        if folded in self.deny:
            return _Status.DENIED
        if not self.allow or folded in self.allow:
            return _Status.OK
        if self.allow_refs and folded.startswith(REF_PREFIX):
            return _Status.OK
        return _Status.NOT_ALLOWED

    def symbol(self, symbol: LicenseSymbol) -> _Status:
        if isinstance(symbol, LicenseWithExceptionSymbol):
            full = symbol.render().casefold()
            if full in self.deny:
                return _Status.DENIED
            if full in self.allow:
                return _Status.OK
            return self.plain(symbol.license_symbol.key)
        return self.plain(symbol.key)


def _evaluate(expression: object, rules: _Rules, offenders: dict[str, _Status]) -> _Status:
    licensing = spdx_licensing()
    if isinstance(expression, licensing.OR | licensing.AND):
        statuses = [_evaluate(arg, rules, offenders) for arg in expression.args]
        return max(statuses) if isinstance(expression, licensing.OR) else min(statuses)
    status = rules.symbol(expression)  # type: ignore[arg-type]
    if status is not _Status.OK:
        offenders[expression.render()] = status  # type: ignore[attr-defined]
    return status


class _ComponentCheck:
    def __init__(self, component: SbomComponent, policy: SecurityPolicy) -> None:
        self.component = component
        self.policy = policy
        self.rules = _Rules.of(policy)
        self.findings: list[LicenseFinding] = []

    def add(self, code: str, license_: str, detail: str, *, blocking: bool) -> None:
        self.findings.append(
            LicenseFinding(
                code=code,
                component=self.component.name,
                version=self.component.version,
                purl=self.component.purl,
                license=license_,
                detail=detail,
                blocking=blocking and self.policy.enforce_licenses,
            )
        )

    def unrecognised(self, text: str, code: str, detail: str) -> None:
        # With an allow list nothing unrecognised can be shown allowed; without one it is only
        # worth a note, since a deny list cannot match what it cannot read.
        if self.rules.allow:
            self.add("license_not_allowed", text, f"{detail}; not on the allow list", blocking=True)
        else:
            self.add(code, text, detail, blocking=False)

    def expression(self, text: str) -> None:
        try:
            parsed = spdx_licensing().parse(text)
        except ExpressionError:
            self.unrecognised(text, "license_expression_invalid", "not a valid SPDX expression")
            return
        if parsed is None:
            self.unrecognised(text, "license_expression_invalid", "empty licence expression")
            return
        unknown = unknown_keys(parsed)
        if unknown and not self.rules.allow:
            self.add("license_unknown", text, f"not SPDX ids: {', '.join(unknown)}", blocking=False)
        offenders: dict[str, _Status] = {}
        status = _evaluate(parsed, self.rules, offenders)
        if status is _Status.DENIED:
            denied = sorted(k for k, s in offenders.items() if s is _Status.DENIED)
            self.add("license_denied", text, f"denied: {', '.join(denied)}", blocking=True)
        elif status is _Status.NOT_ALLOWED:
            missing = sorted(k for k, s in offenders.items() if s is _Status.NOT_ALLOWED)
            self.add(
                "license_not_allowed",
                text,
                f"not on the allow list: {', '.join(missing)}",
                blocking=True,
            )

    def run(self) -> list[LicenseFinding]:
        component = self.component
        if not component.license_expressions and not component.license_names:
            if self.policy.require_license:
                self.add("license_missing", "", "component declares no licence", blocking=True)
            return self.findings
        for text in component.license_expressions:
            self.expression(text)
        for name in component.license_names:
            self.unrecognised(name, "license_unknown", "licence given by name, not SPDX id")
        return self.findings


def evaluate_licenses(component: SbomComponent, policy: SecurityPolicy) -> list[LicenseFinding]:
    """Licence findings for one component; `blocking` ones fail the scan."""
    return _ComponentCheck(component, policy).run()
