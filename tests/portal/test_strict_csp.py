"""The portal runs under the strict CSP: every script is a vendored file, no inline script or
event-handler attribute, no third-party origin."""

import re

import pytest

from marketplace.plans import create_plan
from tests.browser.runs import passed_run
from tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db


def test_pages_carry_the_csp_and_no_inline_script(portal_vendor):
    vendor = portal_vendor("admin")
    run = passed_run(agent__tenant=vendor.tenant)
    v = run.version
    ReviewFactory(agent=v.agent)  # its reply form too
    plan = create_plan(v.agent, key="trial", name="Trial", kind="free")
    paths = [
        "/portal/",
        "/portal/keys/",
        "/portal/upload/",
        f"/portal/agents/{v.agent_id}/",
        f"/portal/agents/{v.agent_id}/versions/{v.version}/",
        f"/portal/agents/{v.agent_id}/pricing/",
        f"/portal/agents/{v.agent_id}/pricing/{plan.pk}/revise/",
        f"/portal/agents/{v.agent_id}/reviews/",
        "/portal/workflows/",
        "/portal/team/",
        "/portal/password/",
        "/portal/docs/package-format/",
    ]
    for path in paths:
        response = vendor.client.get(path)
        assert response.status_code == 200, path
        csp = response["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp
            and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        )
        html = response.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.search(r'\ssrc="/static/(?:portal|edgeplug)/[\w.-]+\.js"', tag), (path, tag)
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), path
        # Resources come from this site; links to other sites (in the docs) are fine.
        assert not re.search(r'\ssrc="(https?:)?//', html), path
        assert not re.search(r'<link\b[^>]*href="(https?:)?//', html), path
