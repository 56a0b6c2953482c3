"""Admin for the vulnerability database: advisories and imports (read-only), re-scan findings,
and the per-level security policy overrides that platform admins edit."""

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from certification.models import (
    Advisory,
    AdvisoryImport,
    AdvisoryPackage,
    ScanFinding,
    SecurityPolicyOverride,
)
from certification.security.policy import SecurityPolicy
from certification.vulndb.database import reset_policy_override, save_policy_override
from edgeplug.core.admin import (
    TENANT_FILTER,
    ActionAdminMixin,
    FilterParametersChecked,
    ReadOnlyAdminMixin,
)
from edgeplug.core.forms import DocumentJSONField


class ReadOnlyAdmin(FilterParametersChecked, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows written by imports and re-scans only; the admin shows them."""


class AdvisoryPackageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AdvisoryPackage
    fields = ("ecosystem", "name")
    readonly_fields = fields
    extra = 0


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@admin.register(Advisory)
class AdvisoryAdmin(ReadOnlyAdmin):
    list_display = ("osv_id", "severity", "score", "summary", "modified", "withdrawn", "updated_at")
    list_filter = ("severity", "packages__ecosystem", "withdrawn")
    # Aliases (CVE ids) are a JSON list: a text search over it finds "CVE-2021-44228".
    search_fields = ("osv_id", "aliases", "summary", "packages__name")
    date_hierarchy = "modified"
    fields = (
        "osv_id",
        "aliases",
        "summary",
        "severity",
        "score",
        "modified",
        "published",
        "withdrawn",
        "source",
        "imported_at",
        "updated_at",
        "record",
    )
    readonly_fields = fields
    inlines = [AdvisoryPackageInline]

    @admin.display(description="OSV record")
    def record(self, obj):
        return _pretty_json(obj.raw)


@admin.register(AdvisoryImport)
class AdvisoryImportAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "last_progress_at",
        "finished_at",
        "status",
        "path",
        "created",
        "updated",
        "unchanged",
        "invalid",
        "error_code",
    )
    list_filter = ("status",)
    readonly_fields = (
        "path",
        "status",
        "started_at",
        "last_progress_at",
        "finished_at",
        "created",
        "updated",
        "unchanged",
        "invalid",
        "error_code",
        "error_detail",
    )


@admin.register(ScanFinding)
class ScanFindingAdmin(ReadOnlyAdmin):
    list_display = (
        "advisory",
        "severity",
        "component",
        "component_version",
        "version",
        "tenant",
        "blocking",
        "first_seen_at",
        "vendor_notified_at",
        "reviewers_notified_at",
    )
    list_filter = ("severity", "blocking", "known_at_certification", TENANT_FILTER)
    search_fields = (
        "advisory__osv_id",
        "advisory__aliases",
        "component",
        "purl",
        "version__agent__name",
        "tenant__slug",
    )
    list_select_related = ("advisory", "version__agent__tenant", "tenant")
    readonly_fields = (
        "tenant",
        "version",
        "advisory",
        "component",
        "component_version",
        "purl",
        "severity",
        "score",
        "fixed_versions",
        "blocking",
        "known_at_certification",
        "first_seen_at",
        "vendor_notified_at",
        "reviewers_notified_at",
        "vendor_nobody_to_mail_at",
        "reviewers_nobody_to_mail_at",
        "vendor_refusal",
        "reviewers_refusal",
    )


class SecurityPolicyOverrideForm(forms.ModelForm):
    class Meta:
        model = SecurityPolicyOverride
        fields = ("level", "overrides")
        field_classes = {"overrides": DocumentJSONField}
        widgets = {"overrides": forms.Textarea(attrs={"rows": 12, "cols": 80})}


@admin.register(SecurityPolicyOverride)
class SecurityPolicyOverrideAdmin(ActionAdminMixin, admin.ModelAdmin):
    form = SecurityPolicyOverrideForm
    list_display = ("level", "overrides", "updated_at", "updated_by")
    readonly_fields = ("defaults", "updated_at", "updated_by")
    fields = ("level", "overrides", "defaults", "updated_at", "updated_by")
    save_action = staticmethod(save_policy_override)
    delete_action = staticmethod(reset_policy_override)
    chosen_on_add = ("level",)

    @admin.display(description="defaults for this level (keys you may override)")
    def defaults(self, obj):
        if obj is None or not obj.level:
            return "Save the level first to see its defaults."
        return _pretty_json(
            {k: v for k, v in SecurityPolicy.for_level(obj.level).to_dict().items() if k != "level"}
        )
