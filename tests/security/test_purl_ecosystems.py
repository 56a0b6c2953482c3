"""Component purls map to the OSV ecosystem and package name that advisories use."""

from __future__ import annotations

import pytest
from packageurl import PackageURL

from certification.security.osv import PackageKey, package_key, package_key_for_purl


@pytest.mark.parametrize(
    ("purl", "key"),
    [
        ("pkg:pypi/Jinja2@3.1.2", ("PyPI", "jinja2")),
        ("pkg:pypi/zope.interface@6.0", ("PyPI", "zope-interface")),
        ("pkg:pypi/typing_extensions@4.9.0", ("PyPI", "typing-extensions")),
        ("pkg:npm/lodash@4.17.20", ("npm", "lodash")),
        ("pkg:npm/%40babel/traverse@7.23.1", ("npm", "@babel/traverse")),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ("Maven", "org.apache.logging.log4j:log4j-core"),
        ),
        ("pkg:golang/github.com/gin-gonic/gin@v1.5.0", ("Go", "github.com/gin-gonic/gin")),
        ("pkg:cargo/http@0.1.19", ("crates.io", "http")),
        ("pkg:nuget/Newtonsoft.Json@12.0.1", ("NuGet", "newtonsoft.json")),
        ("pkg:gem/rails@7.0.0", ("RubyGems", "rails")),
        ("pkg:composer/symfony/http-kernel@5.4.0", ("Packagist", "symfony/http-kernel")),
        ("pkg:hex/plug@1.14.0", ("Hex", "plug")),
        ("pkg:pub/http@0.13.0", ("Pub", "http")),
        ("pkg:conan/openssl@3.0.0", ("ConanCenter", "openssl")),
        ("pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-12", ("Debian:12", "openssl")),
        ("pkg:deb/debian/curl@7.88.1-10?distro=bookworm", ("Debian:12", "curl")),
        ("pkg:deb/debian/curl@7.88.1-10", ("Debian", "curl")),
        ("pkg:apk/alpine/busybox@1.36.1-r2?distro=alpine-3.18.4", ("Alpine:v3.18", "busybox")),
    ],
)
def test_purl_maps_to_the_osv_package_key(purl, key):
    assert package_key_for_purl(PackageURL.from_string(purl)) == PackageKey(*key)


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:generic/acme/sensor-firmware@2.0.0",
        "pkg:github/arm-software/cmsis-nn@v6.0.0",
        "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?distro=ubuntu-22.04",
    ],
)
def test_purls_without_an_osv_ecosystem_have_no_key(purl):
    assert package_key_for_purl(PackageURL.from_string(purl)) is None


def test_advisory_ecosystem_spelling_is_canonicalised():
    assert package_key("pypi", "Django") == PackageKey("PyPI", "django")
    assert package_key("CRATES.IO", "http") == PackageKey("crates.io", "http")
    assert package_key("Debian:12", "openssl") == PackageKey("Debian:12", "openssl")
