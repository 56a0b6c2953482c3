"""Security scan policy per certification level: severity gate, licence lists, SBOM requirements.

`SecurityPolicy.for_level(level)` gives the defaults below; the Django side stores overrides as
JSON and applies them with `with_overrides`, so the defaults live here and nowhere else.

| level    | fails on vulnerabilities        | licences                                  |
|----------|---------------------------------|-------------------------------------------|
| basic    | never (report only)             | report only                               |
| standard | critical                        | deny list enforced                        |
| hardware | high and above; unknown = high  | allow list + deny list, licence required  |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from certification.security.errors import PolicyInvalid
from certification.security.severity import Severity
from certification.security.spdx import unknown_license_ids
from certification.vocabulary import Level

# Network copyleft, source-available and non-commercial licences: incompatible with selling an
# agent on the marketplace whatever the level, so they are denied (reported at basic).
MARKETPLACE_DENY = frozenset(
    {
        "AGPL-1.0-only",
        "AGPL-1.0-or-later",
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "SSPL-1.0",
        "BUSL-1.1",
        "Elastic-2.0",
        "CC-BY-NC-1.0",
        "CC-BY-NC-2.0",
        "CC-BY-NC-2.5",
        "CC-BY-NC-3.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-1.0",
        "CC-BY-NC-SA-2.0",
        "CC-BY-NC-SA-2.5",
        "CC-BY-NC-SA-3.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-NC-ND-1.0",
        "CC-BY-NC-ND-2.0",
        "CC-BY-NC-ND-2.5",
        "CC-BY-NC-ND-3.0",
        "CC-BY-NC-ND-4.0",
    }
)

# Firmware is statically linked into one image shipped to customers' devices: strong and weak
# copyleft would put the vendor's whole image (or relinking duties) under the licence.
FIRMWARE_COPYLEFT_DENY = frozenset(
    {
        "GPL-1.0-only",
        "GPL-1.0-or-later",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "LGPL-2.0-only",
        "LGPL-2.0-or-later",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-only",
        "LGPL-3.0-or-later",
        "EUPL-1.1",
        "EUPL-1.2",
        "OSL-3.0",
    }
)

# Permissive licences accepted at hardware level, plus the runtime-library exceptions that make
# GCC's and LLVM's support libraries linkable into proprietary firmware.
HARDWARE_ALLOW = frozenset(
    {
        "0BSD",
        "Apache-2.0",
        "Apache-2.0 WITH LLVM-exception",
        "BSD-1-Clause",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSL-1.0",
        "CC0-1.0",
        "curl",
        "FTL",
        "GPL-2.0-or-later WITH GCC-exception-2.0",
        "GPL-3.0-only WITH GCC-exception-3.1",
        "GPL-3.0-or-later WITH GCC-exception-3.1",
        "ISC",
        "Libpng",
        "libpng-2.0",
        "MIT",
        "MIT-0",
        "MPL-2.0",
        "NCSA",
        "PSF-2.0",
        "Python-2.0",
        "Unlicense",
        "X11",
        "Zlib",
    }
)


def _severity(value: Any, name: str) -> Severity:
    try:
        return Severity(value)
    except ValueError as exc:
        choices = ", ".join(s.value for s in Severity if s is not Severity.UNKNOWN)
        raise PolicyInvalid(f"{name} must be one of {choices}, not {value!r}") from exc


# A licence list longer than any real one (the SPDX list itself has some 700 ids).
LICENSE_LIST_MAX = 1000


def _license_set(value: Any, name: str) -> frozenset[str]:
    """A policy's licence list: each entry one licence a component's can equal (an SPDX id in
    any spelling or a LicenseRef-, alone or WITH an exception); anything else would match no
    component, so the list would not do what it says."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise PolicyInvalid(f"{name} must be a list of SPDX ids")
    items = list(value)
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise PolicyInvalid(f"{name} must contain non-empty SPDX id strings")
    if len(items) > LICENSE_LIST_MAX:
        raise PolicyInvalid(f"{name} holds {len(items)} ids; at most {LICENSE_LIST_MAX}.")
    ids = dict.fromkeys(item.strip() for item in items)
    if unknown := unknown_license_ids(ids):
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise PolicyInvalid(f"{name}: not one SPDX licence or LicenseRef- each: {shown}")
    return frozenset(ids)


@dataclass(frozen=True)
class SecurityPolicy:
    level: Level
    # Vulnerabilities at or above this severity fail the scan; None reports only.
    fail_on_severity: Severity | None = None
    # What an advisory without any severity data counts as for the gate.
    unknown_severity_as: Severity = Severity.MEDIUM
    # Non-empty: every licence must be in it. Entries are SPDX ids or "ID WITH EXCEPTION".
    license_allow: frozenset[str] = frozenset()
    license_deny: frozenset[str] = frozenset()
    # Vendor-defined "LicenseRef-..." ids (usually the vendor's own code) pass the allow list.
    allow_license_refs: bool = True
    require_license: bool = False
    # False: licence findings are reported but never fail the scan.
    enforce_licenses: bool = False
    # Components without a valid purl cannot be matched, so by default they fail the scan.
    require_purls: bool = True
    # Fail when a component has no version or one its ecosystem cannot order.
    fail_on_unverifiable_versions: bool = False

    def __post_init__(self) -> None:
        # Frozen: coercions go through object.__setattr__ so JSON overrides (strings, lists)
        # become the same typed values the defaults use.
        try:
            object.__setattr__(self, "level", Level(self.level))
        except ValueError as exc:
            levels = ", ".join(level.value for level in Level)
            raise PolicyInvalid(f"level must be one of {levels}, not {self.level!r}") from exc
        if self.fail_on_severity is not None:
            gate = _severity(self.fail_on_severity, "fail_on_severity")
            if gate is Severity.UNKNOWN:
                raise PolicyInvalid("fail_on_severity cannot be unknown")
            object.__setattr__(self, "fail_on_severity", gate)
        unknown_as = _severity(self.unknown_severity_as, "unknown_severity_as")
        if unknown_as is Severity.UNKNOWN:
            raise PolicyInvalid("unknown_severity_as must be a concrete severity")
        object.__setattr__(self, "unknown_severity_as", unknown_as)
        object.__setattr__(self, "license_allow", _license_set(self.license_allow, "license_allow"))
        object.__setattr__(self, "license_deny", _license_set(self.license_deny, "license_deny"))
        for flag in (
            "allow_license_refs",
            "require_license",
            "enforce_licenses",
            "require_purls",
            "fail_on_unverifiable_versions",
        ):
            if not isinstance(getattr(self, flag), bool):
                raise PolicyInvalid(f"{flag} must be true or false")

    @classmethod
    def for_level(cls, level: Level | str) -> SecurityPolicy:
        try:
            return _DEFAULTS[Level(level)]
        except ValueError as exc:
            raise PolicyInvalid(f"unknown certification level {level!r}") from exc

    def with_overrides(self, overrides: Mapping[str, Any]) -> SecurityPolicy:
        known = {f.name for f in fields(self)} - {"level"}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise PolicyInvalid(f"unknown policy setting(s): {', '.join(unknown)}")
        return replace(self, **overrides)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SecurityPolicy:
        """The level's defaults with every other key of `data` applied as an override."""
        if "level" not in data:
            raise PolicyInvalid("policy needs a level")
        rest = {key: value for key, value in data.items() if key != "level"}
        return cls.for_level(data["level"]).with_overrides(rest)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["license_allow"] = sorted(self.license_allow)
        data["license_deny"] = sorted(self.license_deny)
        return data

    def effective_severity(self, severity: Severity) -> Severity:
        return self.unknown_severity_as if severity is Severity.UNKNOWN else severity

    def blocks(self, severity: Severity) -> bool:
        if self.fail_on_severity is None:
            return False
        return self.effective_severity(severity).rank >= self.fail_on_severity.rank


_DEFAULTS = {
    Level.BASIC: SecurityPolicy(
        level=Level.BASIC,
        license_deny=MARKETPLACE_DENY,
    ),
    Level.STANDARD: SecurityPolicy(
        level=Level.STANDARD,
        fail_on_severity=Severity.CRITICAL,
        license_deny=MARKETPLACE_DENY,
        enforce_licenses=True,
        fail_on_unverifiable_versions=True,
    ),
    Level.HARDWARE: SecurityPolicy(
        level=Level.HARDWARE,
        fail_on_severity=Severity.HIGH,
        unknown_severity_as=Severity.HIGH,
        license_allow=HARDWARE_ALLOW,
        license_deny=MARKETPLACE_DENY | FIRMWARE_COPYLEFT_DENY,
        require_license=True,
        enforce_licenses=True,
        fail_on_unverifiable_versions=True,
    ),
}
