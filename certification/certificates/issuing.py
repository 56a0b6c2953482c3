"""Signing certificates for passed runs: canonical JSON (RFC 8785) signed with Ed25519.

The payload holds what a device needs to trust a package offline: its digest and manifest
digest, name, version, vendor, level, each stage's result with its key metrics, issued_at,
expires_at and the signing key id. ``edgeplug.certificates.verify_certificate`` checks it.
"""

from datetime import UTC, datetime, timedelta

from certification.certificates.platform_keys import keyring
from certification.models import Certificate, CertificationResult, CertificationRun
from certification.pipeline import levels
from edgeplug import signing
from edgeplug.certificates import sha256_label
from edgeplug.timefmt import utc_iso

# Per stage, the metrics worth carrying in the certificate (the rest stay in the run).
KEY_METRICS = {
    levels.VALIDATION: ("op_set", "input_shape", "output_shape"),
    levels.INVARIANTS: ("invariants", "examples", "max_examples"),
    levels.PERFORMANCE: (
        "model_size_bytes",
        "arena_bytes",
        "latency_estimate_us",
        "host_latency_p99_us",
    ),
    levels.SECURITY: ("components", "vulnerabilities", "highest_severity"),
    levels.SIMULATION: ("board", "latency_median_us", "latency_max_us", "instructions_median"),
}


def build_payload(
    run: CertificationRun,
    results: list[CertificationResult],
    key_id: str,
    issued_at: datetime,
    expires_at: datetime,
) -> dict:
    version = run.version
    manifest = version.manifest
    stages = []
    for result in sorted(results, key=lambda r: r.test_suite):
        wanted = KEY_METRICS.get(result.test_suite, ())
        stages.append(
            {
                "stage": result.test_suite,
                "result": result.test_result,
                "metrics": {k: result.metrics[k] for k in wanted if k in result.metrics},
            }
        )
    return {
        "type": "edgeplug-certificate",
        "format_version": 1,
        "run_id": run.pk,
        "pipeline_version": run.pipeline_version,
        "package": {
            "name": manifest["name"],
            "version": manifest["version"],
            "vendor": manifest["vendor"],
            "digest": sha256_label(version.digest),
            "manifest_digest": sha256_label(version.manifest_digest),
            "target_core": version.target_core,
        },
        "level": run.level,
        "stages": stages,
        "issued_at": utc_iso(issued_at, seconds=True),
        "expires_at": utc_iso(expires_at, seconds=True),
        "key_id": key_id,
    }


def issue_certificate(run: CertificationRun, results: list[CertificationResult]) -> Certificate:
    now = datetime.now(UTC).replace(microsecond=0)
    key = keyring().active(now)
    validity = timedelta(days=levels.thresholds_for(run.level).certificate_validity_days)
    expires = min(now + validity, key.not_after)
    payload = build_payload(run, results, key.key_id, now, expires)
    signature = signing.sign_document(key.private_key, payload)
    return Certificate.objects.create(
        run=run,
        version=run.version,
        key_id=key.key_id,
        payload=payload,
        signature=signing.encode_b64(signature),
        issued_at=now,
        expires_at=expires,
    )
