"""The portal's pages under /portal/."""

from django.urls import include, path

from marketplace.portal.views import (
    auth,
    dashboard,
    docs,
    keys,
    pricing,
    reviews,
    sales,
    team,
    uploads,
    versions,
    wpks,
)

app_name = "portal"

# The pages of one agent version, mounted under its URL in urlpatterns.
version_urls = [
    path("", versions.version_page, name="version"),
    path("runs.json", versions.version_runs, name="version-runs"),
    path("certificate.json", versions.certificate_download, name="certificate"),
    path("yank/", versions.yank, name="yank"),
    path("certify/", versions.certify, name="certify"),
]

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("sign-in/", auth.sign_in, name="sign-in"),
    path("sign-out/", auth.sign_out, name="sign-out"),
    path("enrol/", auth.enrol, name="enrol"),
    path("password/", auth.password_change, name="password"),
    path("keys/", keys.keys, name="keys"),
    path("keys/<str:key_id>/revoke/", keys.revoke, name="key-revoke"),
    path("upload/", uploads.upload, name="upload"),
    path("agents/<int:agent_id>/", versions.agent_page, name="agent"),
    path("agents/<int:agent_id>/pricing/", pricing.pricing_page, name="pricing"),
    path("agents/<int:agent_id>/pricing/<int:plan_id>/revise/", pricing.revise, name="plan-revise"),
    path("agents/<int:agent_id>/pricing/<int:plan_id>/retire/", pricing.retire, name="plan-retire"),
    path("agents/<int:agent_id>/reviews/", reviews.reviews_page, name="reviews"),
    path(
        "agents/<int:agent_id>/reviews/<int:review_id>/reply/", reviews.reply, name="review-reply"
    ),
    path("agents/<int:agent_id>/versions/<str:version>/", include(version_urls)),
    path("workflows/", wpks.wpk_list, name="wpks"),
    path("workflows/<int:pk>/", wpks.wpk_detail, name="wpk"),
    path("sales/", sales.sales_page, name="sales"),
    path("sales.csv", sales.sales_csv, name="sales-csv"),
    path("sales/payouts/<str:period>.csv", sales.payout_statement_csv, name="payout-csv"),
    path("team/", team.team, name="team"),
    path("team/<int:pk>/role/", team.change_role, name="member-role"),
    path("team/<int:pk>/remove/", team.remove_member, name="member-remove"),
    path("docs/package-format/", docs.package_format, name="package-format"),
]
