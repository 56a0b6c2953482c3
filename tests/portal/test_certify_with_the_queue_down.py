"""With the task queue down, the portal says certification could not be queued (as the API
answers 503 broker_unavailable), keeps the package, and says to certify again later; it never
says the run is queued."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from certification import tasks
from certification.models import CertificationRun
from marketplace.models import AgentVersion
from tests.factories import AgentVersionFactory
from tests.vendors import package

# on_commit fires at the real commit, as in production, so the refusal happens in the request.
pytestmark = pytest.mark.django_db(transaction=True)

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
NOT_QUEUED = "Certification could not be queued"
AGAIN = "The package is stored; certify it again later from this page."


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.start_run, "apply_async", refuse)


@pytest.fixture
def broker_up(monkeypatch):
    sent = []
    monkeypatch.setattr(
        tasks.start_run, "apply_async", lambda args, kwargs=None, **options: sent.append(args[0])
    )
    return sent


def _messages(page) -> str:
    text = html.unescape(page.content.decode())
    start = text.find('<ul class="messages"')
    return text[start : text.index("</ul>", start)] if start >= 0 else ""


def _certify(vendor, version):
    url = f"/portal/agents/{version.agent_id}/versions/{version.version}/certify/"
    return vendor.client.post(url, {"level": "basic"}, follow=True)


def test_certify_with_the_queue_down_says_the_run_was_not_queued(portal_vendor, broker_down):
    vendor = portal_vendor("developer")
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    page = _certify(vendor, version)
    assert page.status_code == 200
    run = CertificationRun.objects.get(version=version)
    assert (run.status, run.error_code) == ("error", "broker_unavailable")
    messages = _messages(page)
    assert 'class="error"' in messages
    assert "broker_unavailable" in messages and NOT_QUEUED in messages and AGAIN in messages
    assert "is queued" not in messages


def test_certify_with_the_queue_up_says_the_run_is_queued(portal_vendor, broker_up):
    vendor = portal_vendor("developer")
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    messages = _messages(_certify(vendor, version))
    run = CertificationRun.objects.get(version=version)
    assert f"Run {run.pk} is queued." in messages and NOT_QUEUED not in messages
    assert broker_up == [run.pk]


def test_an_upload_with_the_queue_down_keeps_the_package_and_says_it_was_not_queued(
    portal_vendor, broker_down
):
    vendor = portal_vendor("developer")
    data = package()
    form = {
        "package": SimpleUploadedFile("agent.epk", data),
        "signature": SimpleUploadedFile("agent.epk.sig", vendor.sign(data)),
        "key_id": "",
        "level": "basic",
        "certify": "on",
    }
    response = vendor.client.post("/portal/upload/", form, **XHR)
    assert response.status_code == 201
    version = AgentVersion.objects.get()
    assert response.json() == {"redirect": f"/portal/agents/{version.agent_id}/versions/1.0.0/"}
    assert CertificationRun.objects.get(version=version).error_code == "broker_unavailable"
    messages = _messages(vendor.client.get(response.json()["redirect"]))
    assert 'class="error"' in messages
    assert NOT_QUEUED in messages and AGAIN in messages and "is queued" not in messages
