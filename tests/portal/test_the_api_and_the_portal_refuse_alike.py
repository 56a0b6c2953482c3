"""The same bad input gets the same status and code from the API and from the portal: the
action's own refusal decides at both doors, the API's serializer only publishes the limits."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.html import escape

from edgeplug import signing
from marketplace.cli.keyfile import write_key_file
from marketplace.models import AgentVersion, PricePlan, VendorKey, WorkflowPackage
from marketplace.plans import create_plan, retire_plan
from tests.factories import AgentFactory, AgentVersionFactory
from tests.vendors import package

pytestmark = pytest.mark.django_db


@pytest.fixture
def doors(portal_vendor, member_client):
    """(portal vendor, API client) of one vendor's developers, sharing its signing key."""
    vendor = portal_vendor("developer")
    api, _ = member_client("developer", tenant=vendor.tenant)
    return vendor, api


def _document(vendor, **changes) -> dict:
    content = {"steps": [{"agent": f"{vendor.tenant.slug}/pump", "version": ">=1.0.0"}]}
    document = {"name": "bottling-line", "version": "1.0.0", "content": content}
    document |= {k: v for k, v in changes.items() if k in document}
    signature = signing.encode_b64(signing.sign_document(vendor.keys.private_key, document))
    return {**document, "signature": signature, "key_id": vendor.key.key_id, **changes}


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"name": "Bad Name!"}, 422, "wpk_invalid"),
        ({"name": "a" * 65}, 422, "wpk_invalid"),
        ({"name": ""}, 422, "wpk_invalid"),
        ({"version": "1.0.0-" + "a" * 130}, 422, "wpk_invalid"),
        ({"signature": "A" * 129}, 422, "wpk_invalid"),
        ({"signature": ""}, 400, "malformed_signature"),
        ({"key_id": "k" * 81}, 422, "unknown_key"),
        # A signed document holds its five fields and no others, content an object.
        ({"comment": "made by hand"}, 422, "wpk_invalid"),
        ({"extra": 1, "other": None}, 422, "wpk_invalid"),
        ({"content": [{"agent": "acme/pump", "version": ">=1.0.0"}]}, 422, "wpk_invalid"),
        ({"content": "steps"}, 422, "wpk_invalid"),
        ({"content": 7}, 422, "wpk_invalid"),
    ],
)
def test_a_bad_wpk_field_is_refused_alike_at_the_api_and_the_portal(doors, changes, status, code):
    vendor, api = doors
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    document = _document(vendor, **changes)
    by_api = api.post("/api/v1/wpk/upload", document, format="json")
    by_portal = vendor.client.post(
        "/portal/workflows/",
        {"document": SimpleUploadedFile("line.wpk.json", json.dumps(document).encode())},
    )
    assert (by_api.status_code, by_api.json()["code"]) == (status, code)
    assert by_portal.status_code == status and code in by_portal.content.decode()
    assert not WorkflowPackage.objects.exists()


@pytest.mark.parametrize(
    "public_key", ["A" * 65, "A" * 1001, "QUJD" * 100], ids=["65", "1001", "400"]
)
def test_an_overlong_public_key_is_malformed_at_the_api_and_the_portal(doors, public_key):
    vendor, api = doors
    by_api = api.post("/api/v1/vendor/keys", {"public_key": public_key}, format="json")
    by_portal = vendor.client.post("/portal/keys/", {"public_key": public_key})
    assert (by_api.status_code, by_api.json()["code"]) == (400, "malformed_key")
    assert by_portal.status_code == 400 and "malformed_key" in by_portal.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


@pytest.mark.parametrize("signature", ["A" * 129, "QUJD" * 200], ids=["129", "800"])
def test_an_overlong_package_signature_is_malformed_at_the_api_and_the_portal(doors, signature):
    vendor, api = doors
    data = package()
    by_api = api.post(
        "/api/v1/agents/upload",
        {
            "package": SimpleUploadedFile("agent.epk", data),
            "signature": signature,
            "key_id": vendor.key.key_id,
        },
        format="multipart",
    )
    by_portal = vendor.client.post(
        "/portal/upload/",
        {
            "package": SimpleUploadedFile("agent.epk", data),
            "signature": SimpleUploadedFile("agent.epk.sig", signature.encode()),
            "key_id": vendor.key.key_id,
            "level": "basic",
        },
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert (by_api.status_code, by_api.json()["code"]) == (400, "malformed_signature")
    assert (by_portal.status_code, by_portal.json()["code"]) == (400, "malformed_signature")
    assert not AgentVersion.objects.exists()


@pytest.mark.parametrize("missing", ["name", "version", "content", "signature", "key_id"])
def test_a_wpk_missing_a_field_is_the_actions_wpk_invalid_at_the_api_and_the_portal(doors, missing):
    vendor, api = doors
    document = _document(vendor)
    del document[missing]
    by_api = api.post("/api/v1/wpk/upload", document, format="json")
    by_portal = vendor.client.post(
        "/portal/workflows/",
        {"document": SimpleUploadedFile("line.wpk.json", json.dumps(document).encode())},
    )
    assert (by_api.status_code, by_api.json()["code"]) == (422, "wpk_invalid")
    assert by_api.json()["detail"] == f"The document lacks {missing}."
    assert by_portal.status_code == 422 and f"The document lacks {missing}." in (
        by_portal.content.decode()
    )
    assert not WorkflowPackage.objects.exists()


def _post_wpk_at_both_doors(vendor, api, body: bytes):
    """The same bytes as the API's request body and as the portal's uploaded file."""
    by_api = api.post("/api/v1/wpk/upload", body, content_type="application/json")
    by_portal = vendor.client.post(
        "/portal/workflows/", {"document": SimpleUploadedFile("line.wpk.json", body)}
    )
    return by_api, by_portal


def _assert_refused_alike(by_api, by_portal, status: int, code: str) -> None:
    assert (by_api.status_code, by_api.json()["code"]) == (status, code)
    page = by_portal.content.decode()
    assert by_portal.status_code == status and escape(by_api.json()["detail"]) in page
    assert not WorkflowPackage.objects.exists()


def _deep_content(text: str) -> str:
    deep = "[" * 200_000 + "]" * 200_000
    return text.replace('"content": {', f'"content": {{"deep": {deep}, ', 1)


# What JSON is: the API's parser decides, and the portal reads its file by the same function.
_NOT_JSON = {
    "nested 200,000 deep": lambda text: "[" * 200_000 + "]" * 200_000,
    "nested deep in content": _deep_content,
    "name NaN": lambda text: text.replace('"bottling-line"', "NaN"),
    "name Infinity": lambda text: text.replace('"bottling-line"', "Infinity"),
    "NaN in content": lambda text: text.replace('"content": {', '"content": {"w": NaN, ', 1),
    "-Infinity in content": lambda text: text.replace('"steps"', '"w": -Infinity, "steps"', 1),
    "not JSON": lambda text: text[:-1],
}


@pytest.mark.parametrize("change", _NOT_JSON.values(), ids=_NOT_JSON.keys())
def test_a_wpk_file_that_is_not_json_is_malformed_json_at_the_api_and_the_portal(doors, change):
    vendor, api = doors
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    body = change(json.dumps(_document(vendor))).encode()
    _assert_refused_alike(*_post_wpk_at_both_doors(vendor, api, body), 400, "malformed_json")


@pytest.mark.parametrize("where", ["name", "content"])
def test_a_wpk_file_holding_a_lone_surrogate_is_refused_alike(doors, where):
    vendor, api = doors
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    text = json.dumps(_document(vendor))  # ASCII: a surrogate is written as its escape
    if where == "name":
        text = text.replace('"bottling-line"', '"bottling\\ud800"')
    else:
        text = text.replace('"content": {', '"content": {"w": "\\udc00", ', 1)
    _assert_refused_alike(
        *_post_wpk_at_both_doors(vendor, api, text.encode()), 400, "surrogate_character"
    )


def test_a_wpk_file_that_is_not_utf8_json_is_malformed_json_at_both_doors(doors):
    """A name "bé", its file encoded as Latin-1."""
    vendor, api = doors
    text = json.dumps(_document(vendor, name="b\u00e9"), ensure_ascii=False)
    _assert_refused_alike(
        *_post_wpk_at_both_doors(vendor, api, text.encode("latin-1")), 400, "malformed_json"
    )


def test_a_byte_order_mark_is_dropped_from_a_file_not_from_a_request_body(doors):
    """The one difference between the doors: a file a person saved (Windows Notepad's "UTF-8"
    starts with a byte order mark) is read without it; a program's request body is JSON as
    RFC 8259 sends it, without one."""
    vendor, api = doors
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    body = b"\xef\xbb\xbf" + json.dumps(_document(vendor)).encode()
    by_api, by_portal = _post_wpk_at_both_doors(vendor, api, body)
    assert (by_api.status_code, by_api.json()["code"]) == (400, "malformed_json")
    assert by_portal.status_code == 302
    assert WorkflowPackage.objects.count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"name": ["bottling-line"]},
        {"name": 7},
        {"name": 1.5},
        {"name": True},
        {"name": {"a": "b"}},
        {"version": 1.0},
        {"signature": ["AAAA"]},
        {"key_id": 42},
    ],
    ids=[
        "name list",
        "name int",
        "name float",
        "name bool",
        "name object",
        "version",
        "signature",
        "key_id",
    ],
)
def test_a_wpk_text_field_of_another_type_is_refused_alike_not_read_as_its_text(doors, changes):
    """A text field that is not a string is refused as the API's serializer refuses it, not
    turned into the text of its Python ``str()`` (the portal read ``["a"]`` as "['a']")."""
    vendor, api = doors
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    body = json.dumps(_document(vendor, **changes)).encode()
    by_api, by_portal = _post_wpk_at_both_doors(vendor, api, body)
    _assert_refused_alike(by_api, by_portal, 400, "invalid")
    assert by_api.json()["detail"] == f"{next(iter(changes))}: Not a valid string."


def test_a_metered_price_of_another_scheme_is_refused_alike_at_the_api_and_the_portal(doors):
    vendor, api = doors
    agent = AgentFactory(tenant=vendor.tenant)
    plan = {"key": "hourly", "name": "Hourly", "kind": "metered", "currency": "USD"}
    by_api = api.post(
        f"/api/v1/vendor/agents/{agent.pk}/plans",
        plan | {"terms": {"scheme": "per_unit", "unit_amount": 50, "tiers": [{"unit_amount": 5}]}},
        format="json",
    )
    by_portal = vendor.client.post(
        f"/portal/agents/{agent.pk}/pricing/",
        plan | {"scheme": "per_unit", "unit_price": "0.50", "tiers": "* at 0.05"},
    )
    assert (by_api.status_code, by_api.json()["code"]) == (400, "invalid_price_terms")
    assert by_api.json()["detail"] == "The per_unit scheme does not take ['tiers']."
    page = by_portal.content.decode()
    assert by_portal.status_code == 400 and "invalid_price_terms" in page
    assert escape(by_api.json()["detail"]) in page
    assert not PricePlan.objects.exists()


ONCE = {"key": "once", "name": "Buy once", "kind": "one_time", "currency": "USD", "amount": 4900}
HOURLY = {
    "key": "hourly",
    "name": "Hourly",
    "kind": "metered",
    "currency": "USD",
    "terms": {"scheme": "per_unit", "unit_amount": 50},
}
# (the plan, retired or not; the API's PATCH body; the portal's revise form; status, code)
REVISE_REFUSALS = {
    "retired": (ONCE, True, {"name": "Again"}, {"price": "49.00"}, 409, "plan_retired"),
    "below the card minimum": (
        ONCE,
        False,
        {"amount": 10},
        {"price": "0.10"},
        400,
        "invalid_price_terms",
    ),
    "another scheme's price": (
        HOURLY,
        False,
        {"terms": {"scheme": "per_unit", "unit_amount": 50, "tiers": [{"unit_amount": 5}]}},
        {"scheme": "per_unit", "unit_price": "0.50", "tiers": "* at 0.05"},
        400,
        "invalid_price_terms",
    ),
    "control character in the name": (
        ONCE,
        False,
        {"name": "Buy\x1bonce"},
        {"name": "Buy\x1bonce", "price": "49.00"},
        400,
        "invalid_plan_name",
    ),
    "a name of only invisible characters": (
        ONCE,
        False,
        {"name": "\u200b"},
        {"name": "\u200b", "price": "49.00"},
        400,
        "invalid_plan_name",
    ),
}


@pytest.mark.parametrize(
    ("plan", "retired", "api_body", "typed", "status", "code"),
    REVISE_REFUSALS.values(),
    ids=REVISE_REFUSALS.keys(),
)
def test_a_plans_revision_is_refused_alike_at_the_api_and_the_portal(
    doors, plan, retired, api_body, typed, status, code
):
    vendor, api = doors
    plan = create_plan(AgentFactory(tenant=vendor.tenant), **plan)
    if retired:
        retire_plan(plan)
    path = f"agents/{plan.agent_id}/plans/{plan.pk}"
    by_api = api.patch(f"/api/v1/vendor/{path}", api_body, format="json")
    by_portal = vendor.client.post(
        f"/portal/agents/{plan.agent_id}/pricing/{plan.pk}/revise/",
        {"name": plan.name, "currency": "USD"} | typed,
    )
    assert (by_api.status_code, by_api.json()["code"]) == (status, code)
    page = by_portal.content.decode()
    assert by_portal.status_code == status and code in page
    assert escape(by_api.json()["detail"]) in page
    assert PricePlan.objects.get().snapshot() == plan.snapshot()


def _public_key() -> str:
    return signing.encode_b64(signing.generate_keypair().public_key)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("n" * 101, "key_name_too_long"),
        ("laptop\x00", "nul_character"),
        # Read by the team otherwise than typed, or as blank where it is not.
        ("release \u202elaptop", "invalid_key_name"),
        ("\u200b", "invalid_key_name"),
        ("laptop\x9b2J", "invalid_key_name"),  # a terminal's 8-bit CSI (before: registered)
    ],
    ids=["101", "nul", "bidi", "invisible", "c1"],
)
@pytest.mark.parametrize("api_format", ["json", "multipart"])
def test_a_bad_key_name_is_refused_alike_at_the_api_and_the_portal(doors, name, code, api_format):
    vendor, api = doors
    by_api = api.post(
        "/api/v1/vendor/keys", {"public_key": _public_key(), "name": name}, format=api_format
    )
    by_portal = vendor.client.post("/portal/keys/", {"public_key": _public_key(), "name": name})
    assert (by_api.status_code, by_api.json()["code"]) == (400, code)
    assert by_portal.status_code == 400 and code in by_portal.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


def test_the_schema_publishes_the_key_names_rule(doors):
    """It published only "no NUL": a client could not know a bidirectional control is
    invalid_key_name (a name of only invisible characters no pattern can say)."""
    _, api = doors
    schema = api.get("/api/v1/schema/?format=json").json()
    pattern = schema["components"]["schemas"]["RegisterKeyRequest"]["properties"]["name"]
    assert re.search(pattern["pattern"], "laptop 2 (Jörg)")
    for refused in ("release \u202elaptop", "laptop\x1b[2J", "laptop\x9b2J", "laptop\x00"):
        assert not re.search(pattern["pattern"], refused), refused


def test_a_key_name_of_100_characters_is_registered_at_the_api_and_the_portal(doors):
    vendor, api = doors
    by_api = api.post(
        "/api/v1/vendor/keys", {"public_key": _public_key(), "name": "a" * 100}, format="json"
    )
    by_portal = vendor.client.post(
        "/portal/keys/", {"public_key": _public_key(), "name": "b" * 100}
    )
    assert by_api.status_code == 201 and by_portal.status_code == 302
    assert (
        VendorKey.objects.filter(tenant=vendor.tenant, name__in=["a" * 100, "b" * 100]).count() == 2
    )


@pytest.mark.parametrize(
    "body", [{}, {"name": "laptop"}, {"public_key": ""}, {"public_key": "  ", "name": "laptop"}]
)
def test_a_key_without_its_public_key_is_refused_alike_at_the_api_and_the_portal(doors, body):
    vendor, api = doors
    by_api = api.post("/api/v1/vendor/keys", body, format="json")
    by_portal = vendor.client.post("/portal/keys/", body)
    assert (by_api.status_code, by_api.json()["code"]) == (400, "public_key_required")
    assert by_portal.status_code == 400 and "public_key_required" in by_portal.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


def _unlisted_key_ids(vendor, portal_vendor) -> dict:
    """Key ids the upload page does not list: none, another vendor's, too long, revoked."""
    other = portal_vendor("developer", slug="other-vendor")
    revoked = VendorKey.objects.create(
        tenant=vendor.tenant,
        key_id=signing.key_id(signing.generate_keypair().public_key),
        public_key=_public_key(),
        revoked_at=timezone.now(),
    )
    return {
        "none": ("ed25519:" + "0" * 32, "unknown_key"),
        "other vendor's": (other.key.key_id, "unknown_key"),
        "81 characters": ("k" * 81, "unknown_key"),
        "revoked": (revoked.key_id, "key_revoked"),
    }


@pytest.mark.parametrize("which", ["none", "other vendor's", "81 characters", "revoked"])
@pytest.mark.parametrize("xhr", [True, False], ids=["script", "page"])
def test_a_key_id_the_upload_page_does_not_list_is_the_actions_refusal_at_both_doors(
    doors, portal_vendor, which, xhr
):
    vendor, api = doors
    key_id, code = _unlisted_key_ids(vendor, portal_vendor)[which]
    data = package()
    signature = signing.encode_b64(signing.sign_package(vendor.keys.private_key, data))
    by_api = api.post(
        "/api/v1/agents/upload",
        {
            "package": SimpleUploadedFile("agent.epk", data),
            "signature": signature,
            "key_id": key_id,
        },
        format="multipart",
    )
    by_portal = vendor.client.post(
        "/portal/upload/",
        {
            "package": SimpleUploadedFile("agent.epk", data),
            "signature": SimpleUploadedFile("agent.epk.sig", signature.encode()),
            "key_id": key_id,
            "level": "basic",
        },
        **({"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"} if xhr else {}),
    )
    assert (by_api.status_code, by_api.json()["code"]) == (422, code)
    assert by_portal.status_code == 422
    if xhr:
        assert by_portal.json()["code"] == code
    else:
        assert code in by_portal.content.decode()
    assert not AgentVersion.objects.exists()


def test_the_private_key_file_is_refused_at_the_api_without_echoing_it(doors, tmp_path):
    """The key file `edgeplug keygen` writes, sent as the public key: refused as it is at the
    portal (``private_key_given``), the secret not in the answer."""
    vendor, api = doors
    keys = signing.generate_keypair()
    write_key_file(tmp_path / "signing-key.json", keys)
    by_api = api.post(
        "/api/v1/vendor/keys",
        {"public_key": (tmp_path / "signing-key.json").read_text()},
        format="json",
    )
    assert (by_api.status_code, by_api.json()["code"]) == (400, "private_key_given")
    assert signing.encode_b64(keys.private_key) not in by_api.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1
