"""factory_boy factories: the foundation models, and agents with certification runs."""

import hashlib

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from certification.models import CertificationResult, CertificationRun
from edgeplug import signing
from edgeplug.accounts.models import User
from edgeplug.tenancy.models import Membership, Role, Tenant
from marketplace.models import Agent, AgentVersion, VendorKey
from tests.packageformat.builders import make_manifest

PASSWORD = "correct horse battery staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    is_vendor = False
    is_customer = True


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "phone"
    confirmed = True


class VendorKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorKey

    tenant = factory.SubFactory(TenantFactory, is_vendor=True, is_customer=False)
    public_key = factory.LazyFunction(
        lambda: signing.encode_b64(signing.generate_keypair().public_key)
    )
    key_id = factory.LazyAttribute(
        lambda o: signing.key_id(signing.decode_public_key(o.public_key))
    )


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    tenant = factory.SubFactory(TenantFactory, is_vendor=True, is_customer=False)
    name = factory.Sequence(lambda n: f"agent-{n}")


class AgentVersionFactory(factory.django.DjangoModelFactory):
    """A stored version (no package bytes): for pages and rules that only read its rows."""

    class Meta:
        model = AgentVersion

    agent = factory.SubFactory(AgentFactory)
    tenant = factory.SelfAttribute("agent.tenant")
    version = "1.0.0"
    manifest = factory.LazyAttribute(
        lambda o: make_manifest(name=o.agent.name, version=o.version, vendor=o.tenant.slug)
    )
    digest = factory.Sequence(lambda n: hashlib.sha256(f"package {n}".encode()).hexdigest())
    manifest_digest = factory.LazyAttribute(
        lambda o: hashlib.sha256(repr(o.manifest).encode()).hexdigest()
    )
    size = 4096
    target_core = factory.LazyAttribute(lambda o: o.manifest["target"]["core"])
    storage_name = factory.LazyAttribute(lambda o: f"packages/{o.digest}.epk")
    signature = "A" * 86 + "=="
    signing_key = factory.SubFactory(VendorKeyFactory, tenant=factory.SelfAttribute("..tenant"))
    certification_status = "certified"


class CertificationRunFactory(factory.django.DjangoModelFactory):
    """A finished run awaiting review unless told otherwise."""

    class Meta:
        model = CertificationRun

    version = factory.SubFactory(AgentVersionFactory)
    tenant = factory.SelfAttribute("version.tenant")
    level = "standard"
    status = "passed"
    progress = 100
    pipeline_version = "1"
    stages = ["validation", "invariants", "performance", "security"]


class CertificationResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CertificationResult

    run = factory.SubFactory(CertificationRunFactory)
    test_suite = "validation"
    test_result = "pass"
    test_duration_ms = 120
