"""Real public OSV advisories for the security scan tests, as published, one JSON file each.

The records live in ``osv/`` under their OSV ids, in the form `import_osv` reads. Fields the
scan does not read (`details`, `references`, `credits`) are left out; everything that affects
matching or severity (ids, aliases, timestamps, ranges, versions, severity vectors and labels)
is exactly as published. Each name below says where its record was copied from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).with_name("osv")


def _record(osv_id: str) -> dict[str, Any]:
    return json.loads((FOLDER / f"{osv_id}.json").read_text(encoding="utf-8"))


# github/advisory-database advisories/github-reviewed/2021/12/GHSA-jfh8-c2jp-5v3q/
# GHSA-jfh8-c2jp-5v3q.json at commit 0cfafc15b8ce7c8a53c8685daa0ec1a0c76d4684. Log4Shell: three
# affected entries, one per release branch that got a fix (2.15.0, 2.12.2, 2.3.1).
LOG4SHELL = _record("GHSA-jfh8-c2jp-5v3q")

# github/advisory-database advisories/github-reviewed/2023/10/GHSA-v845-jxx5-vc9f/
# GHSA-v845-jxx5-vc9f.json at commit 23f064ddecf6024ae52e474bcb21f584bd78bead.
URLLIB3_COOKIE = _record("GHSA-v845-jxx5-vc9f")

# github/advisory-database advisories/github-reviewed/2023/05/GHSA-j8r2-6x86-q33q/
# GHSA-j8r2-6x86-q33q.json at commit 28b09e0766abbf39953454029e5b7d02c1b5a1e8.
REQUESTS_PROXY_AUTH = _record("GHSA-j8r2-6x86-q33q")

# pypa/advisory-database vulns/requests/PYSEC-2023-74.yaml at commit
# 45b0e0059f859d59fe1495b18b86242bd791a646, the same vulnerability as PyPA publishes it (YAML
# there, the same fields as JSON here): a GIT range, an ECOSYSTEM range and the explicit list of
# affected releases, and no severity at all.
PYSEC_2023_74 = _record("PYSEC-2023-74")

# pypa/advisory-database vulns/requests/PYSEC-2018-28.yaml at commit
# 0d6188842dd5afe12a1363d2cebb99c81447213a. Kept whole because its quirks are real: the package
# purl is malformed ("pkg:pypi:requests") and the versions list spells one release "0.12.01".
PYSEC_2018_28 = _record("PYSEC-2018-28")

# github/advisory-database advisories/github-reviewed/2024/01/GHSA-h5c8-rqwp-cp95/
# GHSA-h5c8-rqwp-cp95.json at commit 35c7d6474eb1dac31c763b5575b57c3decca3831.
JINJA2_XMLATTR = _record("GHSA-h5c8-rqwp-cp95")

# scm-repo-mirror/github_advisory-database (a mirror of github/advisory-database)
# advisories/github-reviewed/2025/03/GHSA-cpwx-vrp4-4pq7/GHSA-cpwx-vrp4-4pq7.json at commit
# db58d71ef195847a33075d42daa4303ed3b294f5. A CVSS v4 vector only, and the package written
# "Jinja2" rather than in its normalised form.
JINJA2_ATTR_SANDBOX = _record("GHSA-cpwx-vrp4-4pq7")

# github/advisory-database advisories/github-reviewed/2023/07/GHSA-jh3w-4vvf-mjgr/
# GHSA-jh3w-4vvf-mjgr.json at commit 313aa9401aa3625025d676a32825f210b2b48eb5.
DJANGO_VALIDATOR_REDOS = _record("GHSA-jh3w-4vvf-mjgr")

# github/advisory-database advisories/github-reviewed/2021/05/GHSA-35jh-r3h4-6jhm/
# GHSA-35jh-r3h4-6jhm.json at commit 029abdf94a5744e523a299bc677b669e6a408976.
LODASH_TEMPLATE = _record("GHSA-35jh-r3h4-6jhm")

# github/advisory-database advisories/github-reviewed/2022/10/GHSA-w596-4wvx-j9j6/
# GHSA-w596-4wvx-j9j6.json at commit 0f0b1f994484cdbdbb8cd24b3415d1b620db14f7: a
# `last_affected` range ("py through 1.11.0").
PY_SVN_REDOS = _record("GHSA-w596-4wvx-j9j6")

# github/advisory-database advisories/github-reviewed/2023/10/GHSA-57m8-f3v5-hm5m/
# GHSA-57m8-f3v5-hm5m.json at commit 3c66783808e1b36cd6f9f7451b68c368f2c810cd: withdrawn on
# 2023-11-01; Maven ".Final" versions and a last_affected bound.
NETTY_WITHDRAWN = _record("GHSA-57m8-f3v5-hm5m")

# golang/vulndb data/osv/GO-2020-0001.json at commit 16a8c715703e577b30a2bc9955d34b4238549d7e:
# a SEMVER range, no severity of any kind, and the Go database's zero `modified` time.
GIN_LOG_INJECTION = _record("GO-2020-0001")

# The RustSec example printed in the OSV schema specification itself (ossf/osv-schema
# docs/schema.md, "Rust vulnerability"): SEMVER range, severity only as an ecosystem label.
RUSTSEC_HTTP = _record("RUSTSEC-2019-0033")

ALL = (
    LOG4SHELL,
    URLLIB3_COOKIE,
    REQUESTS_PROXY_AUTH,
    PYSEC_2023_74,
    PYSEC_2018_28,
    JINJA2_XMLATTR,
    JINJA2_ATTR_SANDBOX,
    DJANGO_VALIDATOR_REDOS,
    LODASH_TEMPLATE,
    PY_SVN_REDOS,
    NETTY_WITHDRAWN,
    GIN_LOG_INJECTION,
    RUSTSEC_HTTP,
)
