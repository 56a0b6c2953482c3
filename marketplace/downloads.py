"""Who may download a version, the offline-install bundle, and the download count.

The vendor downloads its own versions; any member of a tenant with an active entitlement to
the agent downloads its public versions. Everyone else is told which plans would entitle them.
"""

import io
import json
import zipfile

from certification.certificates.platform_keys import keyring
from edgeplug.certificates import sha256_label
from edgeplug.tenancy.models import Tenant
from marketplace.certified import current_certificate
from marketplace.errors import NoCertificate
from marketplace.models import AgentVersion, Download
from marketplace.orders import active_entitlements, no_entitlement
from marketplace.storage import read_package


def ensure_may_download(tenant: Tenant | None, version: AgentVersion) -> None:
    if tenant is not None and version.tenant_id == tenant.pk:
        return
    if (
        tenant is not None
        and version.is_released
        and active_entitlements(tenant, version.agent_id).exists()
    ):
        return
    raise no_entitlement(version.agent)


def record_download(tenant: Tenant, version: AgentVersion, kind: str) -> None:
    Download.objects.create(tenant=tenant, version=version, kind=kind)


def download_count(version: AgentVersion) -> int:
    return version.downloads.count()


def build_bundle(version: AgentVersion) -> bytes:
    """A zip for offline install: the signed package, its certificate and the platform key
    set a device verifies the certificate with."""
    certificate = current_certificate(version)
    if certificate is None:
        raise NoCertificate(f"{version} has no valid certificate to bundle.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        package = read_package(version.storage_name)  # 503 package_unreadable when gone
        archive.writestr(f"{version.agent.name}-{version.version}.epk", package)
        archive.writestr("certificate.json", _json(certificate.document()))
        archive.writestr("keys.json", _json(keyring().published()))
        archive.writestr(
            "bundle.json",
            _json(
                {
                    "agent": version.agent.name,
                    "vendor": version.tenant.slug,
                    "version": version.version,
                    "digest": sha256_label(version.digest),
                    "signature": version.signature,
                    "vendor_key_id": version.signing_key.key_id,
                }
            ),
        )
    return buffer.getvalue()


def _json(document) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
