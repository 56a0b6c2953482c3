# Revoking a device now ends its deployments (marketplace.devices.revoke_device), so it holds no
# seat. Devices revoked before that still have theirs: end them here, audited as the action does.

from django.db import migrations


def end_deployments_of_revoked_devices(apps, schema_editor):
    Deployment = apps.get_model("marketplace", "Deployment")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    ended = Deployment.objects.filter(device__revoked_at__isnull=False).select_related(
        "device", "version__agent__tenant"
    )
    for deployment in ended:
        device, version = deployment.device, deployment.version
        AuditEvent.objects.create(
            action="deployment_removed",
            tenant_id=device.tenant_id,
            target=f"device {device.pk} {device.name}"[:255],
            details={
                "token_prefix": device.token_prefix,
                "version": f"{version.agent.tenant.slug}/{version.agent.name}@{version.version}",
                "reason": "device_revoked",
            },
        )
        deployment.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_trigger"),
        ("marketplace", "0011_hardware_id_free_once_device_revoked"),
    ]

    operations = [
        # Ended deployments cannot come back: going back leaves them ended.
        migrations.RunPython(end_deployments_of_revoked_devices, migrations.RunPython.noop),
    ]
