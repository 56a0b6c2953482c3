"""Signing keys in the portal: list with fingerprints, register by paste or file, revoke."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from edgeplug import signing
from edgeplug.audit.models import AuditEvent
from marketplace.cli.keyfile import write_key_file
from marketplace.models import VendorKey

pytestmark = pytest.mark.django_db


def _keygen_output(keys) -> str:
    """What `edgeplug keygen` prints."""
    return (
        "private key: /home/v/.config/edgeplug/signing-key.json (keep it secret)\n"
        f"key id:      {keys.key_id}\n"
        f"public key:  {signing.encode_b64(keys.public_key)}\n"
    )


def test_pasting_keygen_output_registers_the_key(portal_vendor):
    vendor = portal_vendor("developer")
    keys = signing.generate_keypair()
    response = vendor.client.post(
        "/portal/keys/", {"name": "ci", "public_key": _keygen_output(keys)}, follow=True
    )
    assert response.status_code == 200
    key = VendorKey.objects.get(tenant=vendor.tenant, key_id=keys.key_id)
    assert key.name == "ci" and key.created_by == vendor.user
    text = response.content.decode()
    assert keys.key_id in text and vendor.key.key_id in text
    assert AuditEvent.objects.filter(action="vendor_key_registered", target=keys.key_id).exists()


def test_uploading_a_public_key_file_registers_it(portal_vendor):
    vendor = portal_vendor("developer")
    keys = signing.generate_keypair()
    upload = SimpleUploadedFile("key.pub", signing.encode_b64(keys.public_key).encode())
    page = vendor.client.post("/portal/keys/", {"name": "", "public_key_file": upload}, follow=True)
    assert VendorKey.objects.filter(tenant=vendor.tenant, key_id=keys.key_id).exists()
    # No name typed: the key by its id alone.
    assert [str(m) for m in page.context["messages"]] == [f"Key {keys.key_id} is registered."]


@pytest.mark.parametrize(
    ("text", "code", "status"),
    [("not base64 at all!", "malformed_key", 400), ("AAAA", "malformed_key", 400)],
)
def test_a_bad_key_is_refused_with_its_code(portal_vendor, text, code, status):
    vendor = portal_vendor("developer")
    response = vendor.client.post("/portal/keys/", {"public_key": text})
    assert response.status_code == status
    assert code in response.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


def test_registering_a_key_twice_says_so(portal_vendor):
    vendor = portal_vendor("developer")
    response = vendor.client.post("/portal/keys/", {"public_key": vendor.key.public_key})
    assert response.status_code == 409
    assert "key_exists" in response.content.decode()


def test_revoking_asks_first_then_revokes(portal_vendor):
    vendor = portal_vendor("developer")
    url = f"/portal/keys/{vendor.key.key_id}/revoke/"
    confirm = vendor.client.get(url)
    assert confirm.status_code == 200
    assert "Yes, revoke this key" in confirm.content.decode()
    vendor.key.refresh_from_db()
    assert vendor.key.revoked_at is None
    page = vendor.client.post(url, follow=True).content.decode()
    vendor.key.refresh_from_db()
    assert vendor.key.revoked_at is not None and vendor.key.revoked_by == vendor.user
    assert "is revoked" in page
    # Its page again (a bookmark, the back button) says it is done instead of asking again.
    again = vendor.client.get(url).content.decode()
    assert "Yes, revoke this key" not in again
    assert f"was revoked on {vendor.key.revoked_at:%Y-%m-%d %H:%M} UTC" in again


def _keygen_file(tmp_path):
    """The key file `edgeplug keygen` writes (the one file it writes): the private key too."""
    keys = signing.generate_keypair()
    path = tmp_path / "signing-key.json"
    write_key_file(path, keys)
    return keys, path.read_bytes()


def test_uploading_the_private_key_file_is_refused_and_says_what_to_give(portal_vendor, tmp_path):
    """`edgeplug keygen` writes one file, signing-key.json, holding the private key; uploaded
    here it was refused as "not valid base64", which did not tell the vendor that the file is
    the secret one nor what to give instead."""
    vendor = portal_vendor("developer")
    keys, content = _keygen_file(tmp_path)
    upload = SimpleUploadedFile("signing-key.json", content)
    response = vendor.client.post("/portal/keys/", {"name": "ci", "public_key_file": upload})
    page = response.content.decode()
    assert response.status_code == 400 and "private_key_given" in page
    assert "private key" in page and "public key:" in page
    assert signing.encode_b64(keys.private_key) not in page
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


def test_pasting_the_private_key_file_is_refused_and_not_shown_back(portal_vendor, tmp_path):
    """Pasted, the page shown again does not hold the secret in its text area."""
    vendor = portal_vendor("developer")
    keys, content = _keygen_file(tmp_path)
    response = vendor.client.post("/portal/keys/", {"name": "ci", "public_key": content.decode()})
    page = response.content.decode()
    assert response.status_code == 400 and "private_key_given" in page
    assert signing.encode_b64(keys.private_key) not in page
    assert 'value="ci"' in page  # the rest of what was typed is kept
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


@pytest.mark.parametrize(
    "encoding, bom",
    [
        ("utf-8", b"\xef\xbb\xbf"),  # Notepad's "UTF-8"
        ("utf-16-le", b"\xff\xfe"),  # PowerShell 5.1's `>` and Out-File, Notepad's "Unicode"
        ("utf-16-be", b"\xfe\xff"),  # Notepad's "Unicode big endian"
    ],
)
def test_a_key_file_saved_with_a_byte_order_mark_registers(portal_vendor, encoding, bom):
    """The file's byte order mark says how it is written; the key in it is read all the
    same."""
    vendor = portal_vendor("developer")
    keys = signing.generate_keypair()
    text = f"public key:  {signing.encode_b64(keys.public_key)}\r\n"
    upload = SimpleUploadedFile("key.pub", bom + text.encode(encoding))
    response = vendor.client.post("/portal/keys/", {"name": "", "public_key_file": upload})
    assert response.status_code == 302, response.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant, key_id=keys.key_id).exists()


def test_a_key_file_in_a_legacy_code_page_is_refused_saying_to_save_it_as_utf8(portal_vendor):
    vendor = portal_vendor("developer")
    upload = SimpleUploadedFile("key.pub", "clé publique: é".encode("cp1252"))
    response = vendor.client.post("/portal/keys/", {"name": "", "public_key_file": upload})
    assert response.status_code == 400
    assert "not UTF-8 text" in response.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


def test_a_pasted_key_and_a_file_together_are_refused(portal_vendor):
    """Which of the two was meant cannot be told: neither is registered, and the page says
    to give one."""
    vendor = portal_vendor("developer")
    pasted, uploaded = signing.generate_keypair(), signing.generate_keypair()
    upload = SimpleUploadedFile("key.pub", signing.encode_b64(uploaded.public_key).encode())
    response = vendor.client.post(
        "/portal/keys/",
        {"public_key": signing.encode_b64(pasted.public_key), "public_key_file": upload},
    )
    assert response.status_code == 400
    assert "Paste the public key or upload its file, not both." in response.content.decode()
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1


def test_registering_a_revoked_key_again_says_it_was_revoked(portal_vendor):
    vendor = portal_vendor("developer")
    vendor.client.post(f"/portal/keys/{vendor.key.key_id}/revoke/")
    response = vendor.client.post("/portal/keys/", {"public_key": vendor.key.public_key})
    assert response.status_code == 409
    text = response.content.decode()
    assert "key_exists" in text
    assert f"Key {vendor.key.key_id} was revoked" in text
    assert "edgeplug keygen" in text


def test_the_revoke_page_of_an_unnamed_key_names_it_by_its_id(portal_vendor):
    vendor = portal_vendor("developer")
    VendorKey.objects.filter(pk=vendor.key.pk).update(name="")
    url = f"/portal/keys/{vendor.key.key_id}/revoke/"
    assert f"<h1>Revoke key {vendor.key.key_id}</h1>" in vendor.client.get(url).content.decode()
    vendor.client.post(url)
    done = vendor.client.get(url).content.decode()
    assert f"<h1>Key {vendor.key.key_id} is revoked</h1>" in done


def test_a_file_too_large_for_a_public_key_is_refused_saying_so(portal_vendor):
    """Only its first 4 KiB were read: cut within a character it was "not UTF-8 text", and a
    key line past the cut was never seen."""
    vendor = portal_vendor("developer")
    keys = signing.generate_keypair()
    text = "a" + "é" * 2500 + f"\npublic key: {signing.encode_b64(keys.public_key)}\n"
    upload = SimpleUploadedFile("notes.txt", text.encode())
    response = vendor.client.post("/portal/keys/", {"name": "", "public_key_file": upload})
    page = response.content.decode()
    assert response.status_code == 400 and "not UTF-8" not in page
    assert "larger than a public key file (4 KiB)" in page
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1
