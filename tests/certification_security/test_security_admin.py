"""Platform admins tune each level's security policy in the admin; reviewers read advisories."""

import pytest
from django.core.exceptions import ValidationError

import certification.vulndb.admin  # noqa: F401 - registers the models until admin.py imports it
from certification.models import SecurityPolicyOverride
from certification.security.severity import Severity
from certification.vulndb import database as vulndb
from edgeplug.audit.models import AuditEvent
from tests.conftest import changeform_data, delete_one_then_in_bulk
from tests.security import advisories

pytestmark = pytest.mark.django_db

OVERRIDES_URL = "/admin/certification/securitypolicyoverride/"


def test_override_with_an_unknown_setting_or_bad_value_is_refused():
    for overrides, message in (
        ({"fail_on": "high"}, "unknown policy setting"),
        ({"fail_on_severity": "severe"}, "fail_on_severity must be one of"),
        ({"license_deny": "AGPL-3.0-only"}, "license_deny must be a list"),
        (["high"], "JSON object"),
        # An id no SPDX list holds matches no component: the list would not do what it says.
        ({"license_deny": ["AGPL-3.0-only", "X0"]}, "license_deny: not one SPDX licence.*X0"),
        # Lists are compared with one component's licence: an expression or a bare exception
        # would match none.
        ({"license_deny": ["GPL-3.0-only OR AGPL-3.0-only"]}, "not one SPDX licence.*OR"),
        ({"license_allow": ["Classpath-exception-2.0"]}, "not one SPDX licence.*Classpath"),
        ({"license_allow": ["MIT"] * 1001}, "license_allow holds 1001 ids; at most 1000"),
    ):
        with pytest.raises(ValidationError, match=message):
            SecurityPolicyOverride(level="standard", overrides=overrides).full_clean()


def test_spdx_ids_in_any_spelling_and_licence_refs_are_taken():
    overrides = {
        "license_allow": [
            "mit",
            "GPL-2.0+",
            "LicenseRef-acme-eula",
            "GPL-2.0-only WITH Classpath-exception-2.0",
        ]
    }
    SecurityPolicyOverride(level="hardware", overrides=overrides).full_clean()


def test_saved_override_changes_only_its_level():
    vulndb.save_policy_override(
        SecurityPolicyOverride(level="standard", overrides={"fail_on_severity": "low"})
    )

    assert vulndb.policy_for("standard").fail_on_severity is Severity.LOW
    assert vulndb.policy_for("hardware").fail_on_severity is Severity.HIGH
    assert vulndb.policy_for("basic").fail_on_severity is None
    assert AuditEvent.objects.get(action="security_policy_changed").details == {
        "level": "standard",
        "before": {},
        "after": {"fail_on_severity": "low"},
    }


def test_a_policy_change_and_its_reset_record_what_was_there_before_and_a_second_reset_nothing():
    """As a level's thresholds: the audit says from what to what, and of two admins deleting
    the same override (two tabs, two people) only the first resets the level."""
    first = vulndb.save_policy_override(
        SecurityPolicyOverride(level="hardware", overrides={"fail_on_severity": "low"})
    )
    row = SecurityPolicyOverride.objects.get()
    row.overrides = {"fail_on_severity": "medium"}
    vulndb.save_policy_override(row)
    stale = SecurityPolicyOverride.objects.get(pk=first.pk)

    vulndb.reset_policy_override(row)
    vulndb.reset_policy_override(stale)

    changes = AuditEvent.objects.filter(action="security_policy_changed").order_by("id")
    assert [e.details for e in changes] == [
        {"level": "hardware", "before": {}, "after": {"fail_on_severity": "low"}},
        {
            "level": "hardware",
            "before": {"fail_on_severity": "low"},
            "after": {"fail_on_severity": "medium"},
        },
        {
            "level": "hardware",
            "before": {"fail_on_severity": "medium"},
            "after": {},
            "reset": True,
        },
    ]
    assert not SecurityPolicyOverride.objects.exists()


def test_an_override_stays_on_its_level_and_saving_it_unchanged_records_nothing():
    """As a level's thresholds: moving the row would put its level back on the defaults with
    no audited reset, and a save that changes nothing is no change."""
    row = vulndb.save_policy_override(
        SecurityPolicyOverride(level="standard", overrides={"fail_on_severity": "low"})
    )
    moved = SecurityPolicyOverride.objects.get()
    moved.level = "hardware"
    with pytest.raises(ValidationError, match="stay on that level"):
        vulndb.save_policy_override(moved)
    vulndb.save_policy_override(SecurityPolicyOverride.objects.get())

    assert SecurityPolicyOverride.objects.get().level == "standard" == row.level
    assert AuditEvent.objects.filter(action="security_policy_changed").count() == 1


def test_platform_admin_edits_a_level_policy_in_the_admin(admin_session):
    client = admin_session("platform-admins")[0]

    refused = client.post(
        f"{OVERRIDES_URL}add/", {"level": "hardware", "overrides": '{"fail_on": "low"}'}
    )
    saved = client.post(
        f"{OVERRIDES_URL}add/", {"level": "hardware", "overrides": '{"fail_on_severity": "medium"}'}
    )

    assert refused.status_code == 200
    assert "unknown policy setting(s): fail_on" in refused.content.decode()
    assert saved.status_code == 302
    assert vulndb.policy_for("hardware").fail_on_severity is Severity.MEDIUM
    row = SecurityPolicyOverride.objects.get()
    page = client.get(f"{OVERRIDES_URL}{row.pk}/change/").content.decode()
    assert "license_allow" in page  # the level's defaults are shown next to the override


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        # The last copy was kept: null, report only, the level's scan gate off.
        ('{"fail_on_severity": "critical", "fail_on_severity": null}', "appears twice"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),  # a RecursionError: a 500 page
        ('{"fail_on_severity": NaN}', "NaN"),
    ],
    ids=["key-twice", "deep", "nan"],
)
def test_an_override_the_admin_cannot_read_as_one_document_is_refused_at_its_field(
    admin_session, typed, said
):
    """The override's text was read by Django's JSONField, plain ``json.loads``: a setting
    named twice kept its last copy unsaid, and a nesting deeper than the parser follows was
    a 500 page. It is read as every document a person writes is (``json_document``)."""
    client = admin_session("platform-admins")[0]

    refused = client.post(f"{OVERRIDES_URL}add/", {"level": "standard", "overrides": typed})

    assert refused.status_code == 200
    page = refused.content.decode()
    assert "errornote" in page and said in page, page[-3000:]
    assert not SecurityPolicyOverride.objects.exists()


def test_reviewer_finds_an_advisory_by_cve_and_package_but_cannot_change_policy(
    import_advisories, admin_session
):
    import_advisories()
    client = admin_session("reviewers")[0]

    by_cve = client.get("/admin/certification/advisory/", {"q": "CVE-2021-44228"})
    by_package = client.get("/admin/certification/advisory/", {"q": "log4j-core"})

    assert list(by_cve.context["cl"].result_list.values_list("osv_id", flat=True)) == [
        advisories.LOG4SHELL["id"]
    ]
    assert advisories.LOG4SHELL["id"] in by_package.content.decode()
    assert client.get("/admin/certification/advisory/add/").status_code == 403
    assert client.get(f"{OVERRIDES_URL}add/").status_code == 403


def test_deleting_a_level_policy_in_the_admin_is_audited_as_its_reset(admin_session):
    """The delete page and the list's bulk delete put the level back on its defaults as the
    action does, audited (a delete left no trace, where saving ``{}`` was audited)."""
    client, admin = admin_session("platform-admins")
    for level in ("standard", "hardware"):
        vulndb.save_policy_override(
            SecurityPolicyOverride(level=level, overrides={"fail_on_severity": "low"})
        )
    standard, hardware = SecurityPolicyOverride.objects.order_by("level").reverse()

    assert delete_one_then_in_bulk(client, OVERRIDES_URL, standard.pk, hardware.pk) == (302, 302)
    assert not SecurityPolicyOverride.objects.exists()
    assert vulndb.policy_for("standard").fail_on_severity is Severity.CRITICAL  # its default
    resets = AuditEvent.objects.filter(action="security_policy_changed", details__reset=True)
    assert sorted(e.details["level"] for e in resets) == ["hardware", "standard"]
    assert {e.actor_id for e in resets} == {admin.pk}


def test_an_overrides_level_cannot_be_moved_to_another_level_in_the_admin(admin_session):
    """Moving a row from hardware to basic would reset hardware's policy with no audit of
    that reset: the level is chosen on add only; to move, delete (audited reset) and add."""
    client = admin_session("platform-admins")[0]
    vulndb.save_policy_override(
        SecurityPolicyOverride(level="hardware", overrides={"fail_on_severity": "critical"})
    )
    row = SecurityPolicyOverride.objects.get()
    url = f"{OVERRIDES_URL}{row.pk}/change/"
    page = client.get(url)
    data = changeform_data(page) | {
        "level": "basic",
        "overrides": '{"fail_on_severity": "low"}',
    }

    saved = client.post(url, data)

    assert saved.status_code == 302
    assert 'name="level"' not in page.content.decode()
    row.refresh_from_db()
    assert (row.level, row.overrides) == ("hardware", {"fail_on_severity": "low"})
    assert vulndb.policy_for("hardware").fail_on_severity is Severity.LOW
    assert vulndb.policy_for("basic").fail_on_severity is None  # basic's default, untouched
    changes = AuditEvent.objects.filter(action="security_policy_changed").order_by("id")
    assert [e.details["level"] for e in changes] == ["hardware", "hardware"]
