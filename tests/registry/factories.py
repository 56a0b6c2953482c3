"""factory_boy factories for the registry: vendor keys, agents and their versions.

Rows only (no package bytes are stored): for tests and benchmarks that need many agents or
versions quickly. Tests of the upload path itself upload real signed packages instead.
"""

import hashlib

import factory
from django.utils import timezone

from edgeplug import signing
from marketplace.models import Agent, AgentVersion, CertificationStatus, ReviewStatus, VendorKey
from tests.factories import TenantFactory
from tests.packageformat.builders import make_manifest


class VendorKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorKey
        exclude = ["keys"]

    tenant = factory.SubFactory(TenantFactory, is_vendor=True, is_customer=False)
    keys = factory.LazyFunction(signing.generate_keypair)
    key_id = factory.LazyAttribute(lambda o: signing.key_id(o.keys.public_key))
    public_key = factory.LazyAttribute(lambda o: signing.encode_b64(o.keys.public_key))
    name = factory.Sequence(lambda n: f"key {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    tenant = factory.SubFactory(TenantFactory, is_vendor=True, is_customer=False)
    name = factory.Sequence(lambda n: f"agent-{n}")
    agent_type = "anomaly-detection"
    description = factory.LazyAttribute(lambda o: f"{o.name}: flags abnormal vibration.")


class AgentVersionFactory(factory.django.DjangoModelFactory):
    """A version as the upload path stores it; ``public=True`` makes it certified and
    approved (what customers see)."""

    class Meta:
        model = AgentVersion

    class Params:
        public = factory.Trait(
            certification_status=CertificationStatus.CERTIFIED,
            review_status=ReviewStatus.APPROVED,
            certified_at=factory.LazyFunction(timezone.now),
        )

    agent = factory.SubFactory(AgentFactory)
    tenant = factory.SelfAttribute("agent.tenant")
    version = factory.Sequence(lambda n: f"1.0.{n}")
    digest = factory.LazyAttribute(
        lambda o: hashlib.sha256(f"{o.agent.pk}:{o.version}".encode()).hexdigest()
    )
    size = 4096
    manifest = factory.LazyAttribute(
        lambda o: make_manifest(name=o.agent.name, version=o.version, vendor=o.tenant.slug)
    )
    manifest_digest = factory.LazyAttribute(lambda o: hashlib.sha256(o.digest.encode()).hexdigest())
    target_core = "cortex-m4"
    storage_name = factory.LazyAttribute(lambda o: f"packages/sha256/{o.digest[:2]}/{o.digest}.epk")
    signature = signing.encode_b64(bytes(64))
    signing_key = factory.LazyAttribute(lambda o: _vendor_key(o.tenant))


def _vendor_key(tenant) -> VendorKey:
    """The vendor's first key: a vendor signs its versions with one key, not one each."""
    return VendorKey.objects.filter(tenant=tenant).first() or VendorKeyFactory(tenant=tenant)
