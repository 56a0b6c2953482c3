"""One finding of every kind the certification stages can emit, built with the stages' own code.

Each entry: the stage that emits it, the finding as stored in CertificationResult.findings,
and texts a reviewer must read on the run's page. Where a stage shapes a finding with a
function or a dataclass, the fixture calls that code, so a change of shape shows up here.
"""

from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

from certification.pipeline.stages import security, validation
from certification.pipeline.stages.base import StageOutcome
from certification.security.errors import SbomSchemaInvalid
from certification.security.licenses import LicenseFinding
from certification.security.sbom import ComponentIssue
from certification.security.scan import VulnerabilityFinding
from certification.security.severity import Severity
from certification.tflm.invariants import InvariantOutcome
from certification.tflm.performance import BudgetCheck
from marketplace.packageformat.errors import DigestMismatch


@dataclass(frozen=True)
class FindingKind:
    stage: str
    finding: dict[str, Any]
    shows: tuple[str, ...]


def _vulnerability() -> dict[str, Any]:
    return security.finding_json(
        VulnerabilityFinding(
            component="tflite-micro",
            version="0.1.0",
            purl="pkg:pypi/tflite-micro@0.1.0",
            advisory_id="GHSA-xxxx-yyyy-zzzz",
            aliases=("CVE-2099-0001",),
            severity=Severity.HIGH,
            score=8.1,
            severity_source="cvss_v3",
            vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
            fixed_versions=("0.1.1", "0.2.0"),
            summary="Out-of-bounds read in the reshape kernel",
            blocking=True,
        )
    )


FINDING_KINDS: dict[str, FindingKind] = {
    "package_refused": FindingKind(
        "validation",
        DigestMismatch(
            "model.tflite does not match its RECORD digest", entry="model.tflite"
        ).as_dict(),
        ("digest_mismatch", "does not match its RECORD digest", "model.tflite"),
    ),
    "model_invalid": FindingKind(
        "validation",
        {"kind": "model_invalid", "detail": "the flatbuffer does not parse"},
        ("model invalid", "the flatbuffer does not parse"),
    ),
    "tensor_mismatch": FindingKind(
        "validation",
        validation._tensor_mismatches(
            "input",
            {"shape": [1, 4], "dtype": "int8"},
            SimpleNamespace(shape=(1, 8), dtype="float32"),
        )[0],
        ("input shape", "[1, 4]", "[1, 8]"),
    ),
    "invariant_counterexample": FindingKind(
        "invariants",
        InvariantOutcome(
            kind="monotonic",
            passed=False,
            examples=187,
            counterexample_input=[0.25, 1.0, float("nan")],
            counterexample_output=[0.9, 0.1],
            message="output 0 decreased from 0.9 to 0.4 when input 0 increased",
            spec={"kind": "monotonic", "input": 0, "output": 0, "direction": "increasing"},
            related_input=[0.5, 1.0, 0.0],
            related_output=[0.4, 0.6],
        ).to_json(),
        ("invariant monotonic violated", "output 0 decreased", '[0.25, 1.0, "NaN"]'),
    ),
    "invariant_unchecked": FindingKind(
        "invariants",
        InvariantOutcome.unchecked(
            {"kind": "robust", "epsilon": 0.01, "delta": 0.5},
            "the model timed out",
            "model_timeout",
            examples=3,
        ).to_json(),
        ("invariant robust could not be checked", "model_timeout"),
    ),
    "budget_exceeded": FindingKind(
        "performance",
        asdict(
            BudgetCheck(
                name="arena_kb",
                value=48.5,
                limit=16,
                unit="KiB",
                passed=False,
                label="measured in TFLM",
            )
        ),
        ("arena kb over budget", "48.5 KiB against a limit of 16 KiB"),
    ),
    "sandbox_error": FindingKind(
        "performance",
        {"kind": "model_memory_exceeded", "detail": "the model needed more than 1024 MB"},
        ("model memory exceeded", "more than 1024 MB"),
    ),
    "advisory_db_empty": FindingKind(
        "security",
        {"kind": "advisory_db_empty", "detail": security.EMPTY_DATABASE_WARNING, "blocking": False},
        ("advisory db empty", "the advisory database is empty", "does not block"),
    ),
    "vulnerability": FindingKind(
        "security",
        _vulnerability(),
        ("GHSA-xxxx-yyyy-zzzz (high)", "fixed in 0.1.1, 0.2.0", "CVE-2099-0001", "blocks"),
    ),
    "license": FindingKind(
        "security",
        security.finding_json(
            LicenseFinding(
                code="license_denied",
                component="libfoo",
                version="2.0",
                purl="pkg:generic/libfoo@2.0",
                license="AGPL-3.0-only",
                detail="AGPL-3.0-only is on the level's deny list",
                blocking=True,
            )
        ),
        ("license: license_denied in libfoo@2.0", "AGPL-3.0-only"),
    ),
    "component_issue": FindingKind(
        "security",
        security.finding_json(
            ComponentIssue(
                code="purl_missing",
                component="vendored-dsp",
                version=None,
                purl=None,
                detail="no purl: the component cannot be matched against advisories",
            )
        ),
        ("component issue: purl_missing in vendored-dsp", "cannot be matched"),
    ),
    "sbom_refused": FindingKind(
        "security",
        security._sbom_refused(
            SbomSchemaInvalid("the SBOM breaks the CycloneDX schema", ("components[0]: name",))
        ).findings[0],
        ("sbom schema invalid", "breaks the CycloneDX schema", "components[0]: name"),
    ),
    "sbom_missing": FindingKind(
        "security",
        {"kind": "sbom_missing", "blocking": True},
        ("sbom missing", "blocks"),
    ),
    "skipped": FindingKind(
        "security",
        StageOutcome.skipped("validation failed, nothing else ran").findings[0],
        ("skipped", "validation failed, nothing else ran"),
    ),
    "simulator_error": FindingKind(
        "simulation",
        {"kind": "hard_fault", "detail": "the firmware hit a HardFault at 0x00000404"},
        ("hard fault", "HardFault at 0x00000404"),
    ),
    "equivalence": FindingKind(
        "simulation",
        {
            "kind": "equivalence",
            "input_index": 3,
            "input": [12, -4, 7],
            "firmware_output": [10, 3],
            "reference_output": [11, 3],
            "detail": "1 of 27 vectors differ; first at input 3",
        },
        ("equivalence", "1 of 27 vectors differ", "firmware output", "[10, 3]"),
    ),
    "latency": FindingKind(
        "simulation",
        {"kind": "latency", "detail": "median 612.00 us exceeds the 500 us gate"},
        ("latency", "exceeds the 500 us gate"),
    ),
}

# What a passing hardware-level run reports: the figures a reviewer compares with the gates.
STAGE_METRICS: dict[str, dict[str, Any]] = {
    "validation": {"package_bytes": 18432, "model_size_bytes": 9120, "op_set": ["FULLY_CONNECTED"]},
    "invariants": {
        "invariants": 7,
        "failed": 0,
        "examples": 1376,
        "max_examples": 200,
        "seeded_from": "9f2c01ab",
    },
    "performance": {
        "model_size_bytes": 9120,
        "arena_bytes": 6144,
        "latency_estimate_us": 81.25,
        "latency_label": "estimate",
        "checks": [{"name": "arena_kb", "value": 6.0, "limit": 16, "unit": "KiB", "passed": True}],
    },
    "security": {"components": 3, "vulnerabilities": 0, "advisories_in_db": 0},
    "simulation": {
        "backend": "qemu",
        "board": "mps2-an386",
        "vectors": 27,
        "instruction_counts": [10211, 10240, 10198],
        "latency_median_us": 127.6,
        "latency_label": "emulated (instruction count x CPI)",
        "equivalent": True,
    },
}
