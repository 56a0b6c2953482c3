"""Vendors with registered keys, and helpers to sign and upload packages (shared fixtures)."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from edgeplug import signing
from marketplace.models import VendorKey
from tests.factories import TenantFactory
from tests.packageformat.builders import make_manifest, make_package

VENDOR_SLUG = "acme-robotics"  # the vendor named by the default test manifest


@dataclass
class SigningMember:
    """A vendor's member with a registered signing key; the client is the API's or the portal's."""

    client: object
    membership: object
    keys: signing.KeyPair
    key: VendorKey

    @property
    def tenant(self):
        return self.membership.tenant

    def sign(self, data: bytes, keys: signing.KeyPair | None = None) -> str:
        return signing.encode_b64(signing.sign_package((keys or self.keys).private_key, data))


@dataclass
class Vendor(SigningMember):
    client: APIClient

    def upload(
        self, data: bytes, *, signature: str | None = None, key_id: str | None = None, **extra
    ):
        return self.client.post(
            "/api/v1/agents/upload",
            {
                "package": _file(data),
                "signature": self.sign(data) if signature is None else signature,
                "key_id": self.key.key_id if key_id is None else key_id,
                **extra,
            },
            format="multipart",
        )


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("agent.epk", data, content_type="application/octet-stream")


@pytest.fixture
def make_vendor(member_client):
    def make(slug=VENDOR_SLUG, role="developer"):
        tenant = TenantFactory(slug=slug, is_vendor=True, is_customer=False)
        client, membership = member_client(role, tenant=tenant)
        keys = signing.generate_keypair()
        key = VendorKey.objects.create(
            tenant=tenant,
            key_id=signing.key_id(keys.public_key),
            public_key=signing.encode_b64(keys.public_key),
        )
        return Vendor(client, membership, keys, key)

    return make


@pytest.fixture
def vendor(make_vendor):
    return make_vendor()


def package(version="1.0.0", name="pump-anomaly", vendor=VENDOR_SLUG, **manifest) -> bytes:
    return make_package(make_manifest(version=version, name=name, vendor=vendor, **manifest))


def stored_blobs(root) -> list:
    return list(root.rglob("*.epk"))
