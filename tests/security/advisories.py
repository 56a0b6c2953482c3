"""Real public OSV advisories, copied from their published JSON, for the security scan tests.

Each record names its source. Fields the scan does not read (`details`, `references`, `credits`)
are left out to keep the file readable; everything that affects matching or severity (ids,
aliases, timestamps, ranges, versions, severity vectors and labels) is exactly as published.
"""

from __future__ import annotations

from typing import Any

# github/advisory-database advisories/github-reviewed/2021/12/GHSA-jfh8-c2jp-5v3q/
# GHSA-jfh8-c2jp-5v3q.json at commit 0cfafc15b8ce7c8a53c8685daa0ec1a0c76d4684. Log4Shell: three
# affected entries, one per release branch that got a fix (2.15.0, 2.12.2, 2.3.1).
LOG4SHELL: dict[str, Any] = {
    "schema_version": "1.3.0",
    "id": "GHSA-jfh8-c2jp-5v3q",
    "modified": "2022-03-25T20:56:18Z",
    "published": "2021-12-10T00:40:56Z",
    "aliases": ["CVE-2021-44228"],
    "summary": "Remote code injection in Log4j",
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]}
            ],
        },
        {
            "package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.3.1"}]}],
        },
        {
            "package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.4"}, {"fixed": "2.12.2"}]}
            ],
        },
    ],
    "database_specific": {
        "cwe_ids": ["CWE-20", "CWE-400", "CWE-502", "CWE-917"],
        "severity": "CRITICAL",
        "github_reviewed": True,
        "github_reviewed_at": "2021-12-10T00:40:41Z",
        "nvd_published_at": "2021-12-10T10:15:00Z",
    },
}

# github/advisory-database advisories/github-reviewed/2023/10/GHSA-v845-jxx5-vc9f/
# GHSA-v845-jxx5-vc9f.json at commit 23f064ddecf6024ae52e474bcb21f584bd78bead.
URLLIB3_COOKIE: dict[str, Any] = {
    "schema_version": "1.4.0",
    "id": "GHSA-v845-jxx5-vc9f",
    "modified": "2023-11-04T00:30:22Z",
    "published": "2023-10-02T23:27:05Z",
    "aliases": ["CVE-2023-43804"],
    "summary": "`Cookie` HTTP header isn't stripped on cross-origin redirects",
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:H/A:N"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "urllib3"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.0.0"}, {"fixed": "2.0.6"}]}
            ],
        },
        {
            "package": {"ecosystem": "PyPI", "name": "urllib3"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.26.17"}]}
            ],
        },
    ],
    "database_specific": {
        "cwe_ids": ["CWE-200"],
        "severity": "MODERATE",
        "github_reviewed": True,
        "github_reviewed_at": "2023-10-02T23:27:05Z",
        "nvd_published_at": "2023-10-04T17:15:10Z",
    },
}

# github/advisory-database advisories/github-reviewed/2023/05/GHSA-j8r2-6x86-q33q/
# GHSA-j8r2-6x86-q33q.json at commit 28b09e0766abbf39953454029e5b7d02c1b5a1e8.
REQUESTS_PROXY_AUTH: dict[str, Any] = {
    "schema_version": "1.4.0",
    "id": "GHSA-j8r2-6x86-q33q",
    "modified": "2023-09-20T19:19:30Z",
    "published": "2023-05-22T20:36:32Z",
    "aliases": ["CVE-2023-32681"],
    "summary": "Unintended leak of Proxy-Authorization header in requests",
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ecosystem_specific": {
                "affected_functions": ["requests.sessions.SessionRedirectMixin.rebuild_proxies"]
            },
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}]}
            ],
        }
    ],
    "database_specific": {
        "cwe_ids": ["CWE-200"],
        "severity": "MODERATE",
        "github_reviewed": True,
        "github_reviewed_at": "2023-05-22T20:36:32Z",
        "nvd_published_at": None,
    },
}

# pypa/advisory-database vulns/requests/PYSEC-2023-74.yaml at commit
# 45b0e0059f859d59fe1495b18b86242bd791a646, the same vulnerability as PyPA publishes it (YAML
# there, the same fields as JSON here): a GIT range, an ECOSYSTEM range and the explicit list of
# affected releases, and no severity at all.
PYSEC_2023_74: dict[str, Any] = {
    "id": "PYSEC-2023-74",
    "modified": "2023-06-05T01:13:00.534973Z",
    "published": "2023-05-26T18:15:00Z",
    "aliases": ["CVE-2023-32681", "GHSA-j8r2-6x86-q33q"],
    "affected": [
        {
            "package": {"name": "requests", "ecosystem": "PyPI", "purl": "pkg:pypi/requests"},
            "ranges": [
                {
                    "type": "GIT",
                    "repo": "https://github.com/psf/requests",
                    "events": [
                        {"introduced": "0"},
                        {"fixed": "74ea7cf7a6a27a4eeb2ae24e162bcc942a6706d5"},
                    ],
                },
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}]},
            ],
            "versions": [
                "2.10.0", "2.11.0", "2.11.1", "2.12.0", "2.12.1", "2.12.2", "2.12.3", "2.12.4",
                "2.12.5", "2.13.0", "2.14.0", "2.14.1", "2.14.2", "2.15.0", "2.15.1", "2.16.0",
                "2.16.1", "2.16.2", "2.16.3", "2.16.4", "2.16.5", "2.17.0", "2.17.1", "2.17.2",
                "2.17.3", "2.18.0", "2.18.1", "2.18.2", "2.18.3", "2.18.4", "2.19.0", "2.19.1",
                "2.20.0", "2.20.1", "2.21.0", "2.22.0", "2.23.0", "2.24.0", "2.25.0", "2.25.1",
                "2.26.0", "2.27.0", "2.27.1", "2.28.0", "2.28.1", "2.28.2", "2.29.0", "2.3.0",
                "2.30.0", "2.4.0", "2.4.1", "2.4.2", "2.4.3", "2.5.0", "2.5.1", "2.5.2", "2.5.3",
                "2.6.0", "2.6.1", "2.6.2", "2.7.0", "2.8.0", "2.8.1", "2.9.0", "2.9.1", "2.9.2",
            ],
        }
    ],
}  # fmt: skip

# pypa/advisory-database vulns/requests/PYSEC-2018-28.yaml at commit
# 0d6188842dd5afe12a1363d2cebb99c81447213a. Kept whole because its quirks are real: the package
# purl is malformed ("pkg:pypi:requests") and the versions list spells one release "0.12.01".
PYSEC_2018_28: dict[str, Any] = {
    "id": "PYSEC-2018-28",
    "modified": "2021-06-16T00:03:24.800813Z",
    "published": "2018-10-09T17:29:00Z",
    "aliases": ["CVE-2018-18074"],
    "affected": [
        {
            "package": {"name": "requests", "ecosystem": "PyPI", "purl": "pkg:pypi:requests"},
            "ranges": [
                {
                    "type": "GIT",
                    "repo": "https://github.com/requests/requests",
                    "events": [
                        {"introduced": "0"},
                        {"fixed": "c45d7c49ea75133e52ab22a8e9e13173938e36ff"},
                    ],
                },
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]},
            ],
            "versions": [
                "0.0.1", "0.10.0", "0.10.1", "0.10.2", "0.10.3", "0.10.4", "0.10.6", "0.10.7",
                "0.10.8", "0.11.1", "0.11.2", "0.12.0", "0.12.01", "0.12.1", "0.13.0", "0.13.1",
                "0.13.2", "0.13.3", "0.13.4", "0.13.5", "0.13.6", "0.13.7", "0.13.8", "0.13.9",
                "0.14.0", "0.14.1", "0.14.2", "0.2.0", "0.2.1", "0.2.2", "0.2.3", "0.2.4", "0.3.0",
                "0.3.1", "0.3.2", "0.3.3", "0.3.4", "0.4.0", "0.4.1", "0.5.0", "0.5.1", "0.6.0",
                "0.6.1", "0.6.2", "0.6.3", "0.6.4", "0.6.5", "0.6.6", "0.7.0", "0.7.1", "0.7.2",
                "0.7.3", "0.7.4", "0.7.5", "0.7.6", "0.8.0", "0.8.1", "0.8.2", "0.8.3", "0.8.4",
                "0.8.5", "0.8.6", "0.8.7", "0.8.8", "0.8.9", "0.9.0", "0.9.1", "0.9.2", "0.9.3",
                "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.1.0", "1.2.0", "1.2.1", "1.2.2",
                "1.2.3", "2.0.0", "2.0.1", "2.1.0", "2.10.0", "2.11.0", "2.11.1", "2.12.0",
                "2.12.1", "2.12.2", "2.12.3", "2.12.4", "2.12.5", "2.13.0", "2.14.0", "2.14.1",
                "2.14.2", "2.15.0", "2.15.1", "2.16.0", "2.16.1", "2.16.2", "2.16.3", "2.16.4",
                "2.16.5", "2.17.0", "2.17.1", "2.17.2", "2.17.3", "2.18.0", "2.18.1", "2.18.2",
                "2.18.3", "2.18.4", "2.19.0", "2.19.1", "2.2.0", "2.2.1", "2.3.0", "2.4.0",
                "2.4.1", "2.4.2", "2.4.3", "2.5.0", "2.5.1", "2.5.2", "2.5.3", "2.6.0", "2.6.1",
                "2.6.2", "2.7.0", "2.8.0", "2.8.1", "2.9.0", "2.9.1", "2.9.2",
            ],
        }
    ],
}  # fmt: skip

# github/advisory-database advisories/github-reviewed/2024/01/GHSA-h5c8-rqwp-cp95/
# GHSA-h5c8-rqwp-cp95.json at commit 35c7d6474eb1dac31c763b5575b57c3decca3831.
JINJA2_XMLATTR: dict[str, Any] = {
    "schema_version": "1.4.0",
    "id": "GHSA-h5c8-rqwp-cp95",
    "modified": "2024-01-11T15:20:48Z",
    "published": "2024-01-11T15:20:48Z",
    "aliases": ["CVE-2024-22195"],
    "summary": (
        "Jinja vulnerable to HTML attribute injection when passing user input as keys to "
        "xmlattr filter"
    ),
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "jinja2"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.3"}]}],
        }
    ],
    "database_specific": {
        "cwe_ids": ["CWE-79"],
        "severity": "MODERATE",
        "github_reviewed": True,
        "github_reviewed_at": "2024-01-11T15:20:48Z",
        "nvd_published_at": "2024-01-11T03:15:11Z",
    },
}

# scm-repo-mirror/github_advisory-database (a mirror of github/advisory-database)
# advisories/github-reviewed/2025/03/GHSA-cpwx-vrp4-4pq7/GHSA-cpwx-vrp4-4pq7.json at commit
# db58d71ef195847a33075d42daa4303ed3b294f5. A CVSS v4 vector only, and the package written
# "Jinja2" rather than in its normalised form.
JINJA2_ATTR_SANDBOX: dict[str, Any] = {
    "schema_version": "1.4.0",
    "id": "GHSA-cpwx-vrp4-4pq7",
    "modified": "2025-11-03T22:54:41Z",
    "published": "2025-03-05T20:40:14Z",
    "aliases": ["CVE-2025-27516"],
    "summary": "Jinja2 vulnerable to sandbox breakout through attr filter selecting format method",
    "severity": [
        {
            "type": "CVSS_V4",
            "score": "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        }
    ],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "Jinja2"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.6"}]}],
            "database_specific": {"last_known_affected_version_range": "<= 3.1.5"},
        }
    ],
    "database_specific": {
        "cwe_ids": ["CWE-1336"],
        "severity": "MODERATE",
        "github_reviewed": True,
        "github_reviewed_at": "2025-03-05T20:40:14Z",
        "nvd_published_at": "2025-03-05T21:15:20Z",
    },
}

# github/advisory-database advisories/github-reviewed/2023/07/GHSA-jh3w-4vvf-mjgr/
# GHSA-jh3w-4vvf-mjgr.json at commit 313aa9401aa3625025d676a32825f210b2b48eb5.
DJANGO_VALIDATOR_REDOS: dict[str, Any] = {
    "schema_version": "1.4.0",
    "id": "GHSA-jh3w-4vvf-mjgr",
    "modified": "2023-07-11T16:36:02Z",
    "published": "2023-07-03T15:30:45Z",
    "aliases": ["CVE-2023-36053"],
    "summary": (
        "Django has regular expression denial of service vulnerability in "
        "EmailValidator/URLValidator"
    ),
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "Django"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "3.2.0"}, {"fixed": "3.2.20"}]}
            ],
        },
        {
            "package": {"ecosystem": "PyPI", "name": "Django"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "4.0.0"}, {"fixed": "4.1.10"}]}
            ],
        },
        {
            "package": {"ecosystem": "PyPI", "name": "Django"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "4.2.0"}, {"fixed": "4.2.3"}]}
            ],
        },
    ],
    "database_specific": {
        "cwe_ids": ["CWE-1333"],
        "severity": "HIGH",
        "github_reviewed": True,
        "github_reviewed_at": "2023-07-05T22:45:55Z",
        "nvd_published_at": "2023-07-03T13:15:09Z",
    },
}

# github/advisory-database advisories/github-reviewed/2021/05/GHSA-35jh-r3h4-6jhm/
# GHSA-35jh-r3h4-6jhm.json at commit 029abdf94a5744e523a299bc677b669e6a408976.
LODASH_TEMPLATE: dict[str, Any] = {
    "schema_version": "1.3.0",
    "id": "GHSA-35jh-r3h4-6jhm",
    "modified": "2022-02-08T21:35:09Z",
    "published": "2021-05-06T16:05:51Z",
    "aliases": ["CVE-2021-23337"],
    "summary": "Command Injection in lodash",
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ecosystem_specific": {"affected_functions": ["lodash.template"]},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}
            ],
        },
        {
            "package": {"ecosystem": "npm", "name": "lodash-es"},
            "ecosystem_specific": {"affected_functions": ["lodash.template"]},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}
            ],
        },
    ],
    "database_specific": {
        "cwe_ids": ["CWE-77", "CWE-94"],
        "severity": "HIGH",
        "github_reviewed": True,
        "github_reviewed_at": "2021-03-31T23:59:26Z",
        "nvd_published_at": "2021-02-15T13:15:00Z",
    },
}

# github/advisory-database advisories/github-reviewed/2022/10/GHSA-w596-4wvx-j9j6/
# GHSA-w596-4wvx-j9j6.json at commit 0f0b1f994484cdbdbb8cd24b3415d1b620db14f7: a
# `last_affected` range ("py through 1.11.0").
PY_SVN_REDOS: dict[str, Any] = {
    "schema_version": "1.3.0",
    "id": "GHSA-w596-4wvx-j9j6",
    "modified": "2022-10-26T19:32:15Z",
    "published": "2022-10-16T12:00:23Z",
    "aliases": ["CVE-2022-42969"],
    "summary": "ReDoS in py library when used with subversion ",
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "py"},
            "ecosystem_specific": {
                "affected_functions": [
                    "py._path.svnurl.InfoSvnCommand.lspattern",
                    "py._path.svnurl.InfoSvnCommand",
                ]
            },
            "ranges": [
                {
                    "type": "ECOSYSTEM",
                    "events": [{"introduced": "0"}, {"last_affected": "1.11.0"}],
                }
            ],
        }
    ],
    "database_specific": {"cwe_ids": ["CWE-1333"], "severity": "MODERATE", "github_reviewed": True},
}

# github/advisory-database advisories/github-reviewed/2023/10/GHSA-57m8-f3v5-hm5m/
# GHSA-57m8-f3v5-hm5m.json at commit 3c66783808e1b36cd6f9f7451b68c368f2c810cd: withdrawn on
# 2023-11-01; Maven ".Final" versions and a last_affected bound.
NETTY_WITHDRAWN: dict[str, Any] = {
    "schema_version": "1.4.0",
    "id": "GHSA-57m8-f3v5-hm5m",
    "modified": "2023-11-01T17:54:21Z",
    "published": "2023-10-04T12:30:14Z",
    "withdrawn": "2023-11-01T17:54:21Z",
    "aliases": ["CVE-2023-4586"],
    "summary": "Withdrawn Advisory: Netty-handler does not validate host names by default",
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "Maven", "name": "io.netty:netty-handler"},
            "ranges": [
                {
                    "type": "ECOSYSTEM",
                    "events": [{"introduced": "4.1.0.Final"}, {"last_affected": "4.1.99.Final"}],
                }
            ],
        }
    ],
    "database_specific": {
        "cwe_ids": ["CWE-295"],
        "severity": "MODERATE",
        "github_reviewed": True,
        "github_reviewed_at": "2023-10-04T20:27:04Z",
        "nvd_published_at": "2023-10-04T11:15:10Z",
    },
}

# golang/vulndb data/osv/GO-2020-0001.json at commit 16a8c715703e577b30a2bc9955d34b4238549d7e:
# a SEMVER range, no severity of any kind, and the Go database's zero `modified` time.
GIN_LOG_INJECTION: dict[str, Any] = {
    "id": "GO-2020-0001",
    "published": "2021-04-14T20:04:52Z",
    "modified": "0001-01-01T00:00:00Z",
    "aliases": ["CVE-2020-36567", "GHSA-6vm3-jj99-7229"],
    "affected": [
        {
            "package": {"name": "github.com/gin-gonic/gin", "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.6.0"}]}],
            "database_specific": {"url": "https://pkg.go.dev/vuln/GO-2020-0001"},
            "ecosystem_specific": {
                "imports": [
                    {
                        "path": "github.com/gin-gonic/gin",
                        "symbols": [
                            "Default",
                            "Logger",
                            "LoggerWithConfig",
                            "LoggerWithFormatter",
                            "LoggerWithWriter",
                        ],
                    }
                ]
            },
        }
    ],
    "schema_version": "1.3.1",
}

# The RustSec example printed in the OSV schema specification itself (ossf/osv-schema
# docs/schema.md, "Rust vulnerability"): SEMVER range, severity only as an ecosystem label.
RUSTSEC_HTTP: dict[str, Any] = {
    "schema_version": "1.2.0",
    "id": "RUSTSEC-2019-0033",
    "published": "2019-11-16T00:00:00Z",
    "modified": "2021-01-04T19:02:00Z",
    "aliases": ["CVE-2020-25574", "CVE-2019-25008"],
    "summary": "Integer Overflow in HeaderMap::reserve() can cause Denial of Service",
    "affected": [
        {
            "package": {"ecosystem": "crates.io", "name": "http"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.1.20"}]}],
            "ecosystem_specific": {
                "functions": ["http::header::HeaderMap::reserve"],
                "keywords": ["http", "integer-overflow", "DoS"],
                "categories": ["denial-of-service"],
                "severity": "HIGH",
            },
        }
    ],
}

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
