"""The Kubernetes manifests in deploy/k8s validate offline against the Kubernetes 1.32 schemas
and keep the invariants a deployment relies on (resources, probes, a single beat whose schedule
file outlives its pods, no secret values, every Celery queue consumed).

The base is rendered by reading the files its kustomization lists (PyYAML), so the test needs
no binary; when `kubectl` (with its built-in kustomize) is on PATH the base and the example
overlay are also rendered by kustomize itself, and the base must render to the same objects.
"""

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import kubernetes_validate
import pytest
import time_machine
import yaml
from celery.beat import PersistentScheduler
from django.conf import settings
from django.test import Client

from edgeplug.celery import app as celery_app
from tests.processes import python_with_settings

K8S = Path(settings.BASE_DIR) / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
KUBERNETES_VERSION = "1.32.0"
WORKLOAD_KINDS = {"Deployment", "Job"}
SECRET_NAME = "edgeplug-secrets"


def render_base_with_pyyaml() -> list[dict]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    # The base uses no transformers, so its objects are exactly the listed files' documents.
    assert set(kustomization) == {"apiVersion", "kind", "resources"}, kustomization
    objects = []
    for name in kustomization["resources"]:
        objects += [doc for doc in yaml.safe_load_all((BASE / name).read_text()) if doc]
    return objects


def render_with_kustomize(path: Path) -> list[dict]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


KUBECTL = shutil.which("kubectl")
needs_kustomize = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl (with kustomize) is not installed; the PyYAML render runs"
)


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return render_base_with_pyyaml()


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def web_container(objects: list[dict]) -> dict:
    """The web Deployment's one container."""
    (container,) = by_kind(objects, "Deployment")["edgeplug-web"]["spec"]["template"]["spec"][
        "containers"
    ]
    return container


def config_data(objects: list[dict]) -> dict[str, str]:
    """What the ConfigMap sets in every container's environment."""
    return by_kind(objects, "ConfigMap")["edgeplug-config"]["data"]


def pod_specs(objects: list[dict]):
    for o in objects:
        if o["kind"] in WORKLOAD_KINDS:
            yield o["metadata"]["name"], o["spec"]["template"]["spec"]


def validate_all(objects: list[dict]) -> None:
    for o in objects:
        kubernetes_validate.validate(o, KUBERNETES_VERSION, strict=True)


def test_every_object_of_the_base_matches_the_kubernetes_schema(objects):
    assert len(objects) >= 10
    validate_all(objects)


def test_the_schema_check_catches_a_misspelled_field(objects):
    deployment = yaml.safe_load(yaml.safe_dump(by_kind(objects, "Deployment")["edgeplug-web"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@needs_kustomize
def test_kustomize_renders_the_base_to_the_same_objects(objects):
    def key(o):
        return (o["kind"], o["metadata"]["name"])

    rendered = render_with_kustomize(BASE)
    assert sorted(rendered, key=key) == sorted(objects, key=key)


@needs_kustomize
def test_the_example_overlay_renders_and_validates():
    rendered = render_with_kustomize(OVERLAY)
    validate_all(rendered)
    namespaced = [o for o in rendered if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"edgeplug"}
    images = {c["image"] for _, spec in pod_specs(rendered) for c in spec["containers"]}
    assert images == {"registry.example.com/edgeplug:1.0.0"}


def test_the_web_tier_is_a_probed_deployment_behind_a_service(objects):
    web = by_kind(objects, "Deployment")["edgeplug-web"]
    container = web_container(objects)
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    service = by_kind(objects, "Service")["edgeplug-web"]
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    # The probes' Host header must be one Django accepts, or every probe answers 400.
    allowed = config_data(objects)["ALLOWED_HOSTS"]
    hosts = {h["value"] for h in container["livenessProbe"]["httpGet"]["httpHeaders"]}
    assert hosts & set(allowed.split(","))


# The Host a Prometheus scrape of a pod by its own address sends (docs/operations.md,
# Monitoring), or else Django's answer, read in a process started as the web pod is.
SCRAPED_HOST = (
    "import django; django.setup(); from django.conf import settings; "
    "from django.core.exceptions import DisallowedHost; from django.test import RequestFactory; "
    "print(settings.ALLOWED_HOSTS[-1])\n"
    "try: print(RequestFactory().get('/metrics', HTTP_HOST={host!r}).get_host())\n"
    "except DisallowedHost: print('refused')"
)


@pytest.mark.parametrize(
    ("pod_ip", "host"),
    [("10.244.1.7", "10.244.1.7:8000"), ("fd00:10:244::7", "[fd00:10:244::7]:8000")],
    ids=["ipv4", "ipv6"],
)
def test_prometheus_may_scrape_each_web_pod_by_its_own_address(objects, tmp_path, pod_ip, host):
    """No ALLOWED_HOSTS written ahead can name the pods' changing addresses, so each scrape was
    answered 400 until 2026-12-07: the web pod is told its own (POD_IP, the downward API)."""
    env = {e["name"]: e for e in web_container(objects).get("env", [])}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    allowed = config_data(objects)["ALLOWED_HOSTS"]
    code = SCRAPED_HOST.format(host=host)
    started = python_with_settings(tmp_path, code, ALLOWED_HOSTS=allowed, POD_IP=pod_ip)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == [host.rpartition(":")[0], host]
    without = python_with_settings(tmp_path, code, ALLOWED_HOSTS=allowed)
    assert without.stdout.split()[-1] == "refused", without.stderr


def _probe(container: dict, kind: str):
    """The web app's answer to the probe ``kind`` of ``container``, sent as the kubelet would:
    its path and its headers."""
    get = container[kind]["httpGet"]
    headers = {
        f"HTTP_{h['name'].upper().replace('-', '_')}": h["value"] for h in get["httpHeaders"]
    }
    return Client().get(get["path"], **headers)


def test_the_probes_asking_ready_give_it_time_for_its_checks(objects, settings):
    """/ready waits READY_CHECK_TIMEOUT_S for the parts it checks meanwhile, and up to
    DB_CONNECT_TIMEOUT_S for a new database connection; a probe that gave it less would time
    out while a part hangs, and fail, the pod leaving the Service all the same. Twice the
    first bound leaves the database check and the request their time."""
    config = config_data(objects)
    parts = float(config.get("READY_CHECK_TIMEOUT_S", settings.READY_CHECK_TIMEOUT_S))
    database = int(config.get("DB_CONNECT_TIMEOUT_S", settings.DB_CONNECT_TIMEOUT_S))
    for kind in ("readinessProbe", "startupProbe"):
        probe = web_container(objects)[kind]
        assert probe["httpGet"]["path"].split("?")[0] == "/ready", kind
        assert probe["timeoutSeconds"] >= 2 * parts, (kind, probe["timeoutSeconds"], parts)
        assert probe["timeoutSeconds"] > database, (kind, probe["timeoutSeconds"], database)


@pytest.mark.django_db
def test_a_web_pod_serves_through_a_storage_outage_but_does_not_start_into_one(
    objects, settings, tmp_path
):
    container = web_container(objects)
    settings.ALLOWED_HOSTS = config_data(objects)["ALLOWED_HOSTS"].split(",")
    assert _probe(container, "startupProbe").status_code == 200
    assert _probe(container, "readinessProbe").status_code == 200
    (tmp_path / "not-a-directory").write_text("")  # the storage cannot write: a shared outage
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-directory" / "media")},
        },
    }
    assert _probe(container, "readinessProbe").status_code == 200  # stays in the Service
    assert _probe(container, "startupProbe").status_code == 503  # a new pod waits for it
    assert _probe(container, "livenessProbe").status_code == 200  # and nothing is restarted


def test_every_container_has_requests_and_limits(objects):
    for name, spec in pod_specs(objects):
        for container in spec.get("initContainers", []) + spec["containers"]:
            resources = container["resources"]
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(part, {})), (name, container)


def test_every_long_running_server_has_a_liveness_probe(objects):
    for name, deployment in by_kind(objects, "Deployment").items():
        if name == "edgeplug-beat":
            continue  # beat serves nothing to probe; the kubelet restarts it if it exits
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "livenessProbe" in container, name


def test_beat_is_one_replica_replaced_never_rolled(objects):
    beat = by_kind(objects, "Deployment")["edgeplug-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    # Its schedule file's claim is mounted by one pod at a time: Recreate lets the old pod go
    # before the new one mounts it (a rolling update would wait for it forever on another node).
    claim = _beat_schedule_volume(objects)["persistentVolumeClaim"]["claimName"]
    assert by_kind(objects, "PersistentVolumeClaim")[claim]["spec"]["accessModes"] == [
        "ReadWriteOnce"
    ]
    assert not [
        h
        for h in by_kind(objects, "HorizontalPodAutoscaler").values()
        if h["spec"]["scaleTargetRef"]["name"] == "edgeplug-beat"
    ]


class _RecordingScheduler(PersistentScheduler):
    """Celery's own scheduler, what `celery beat --schedule=FILE` runs, publishing nothing: it
    notes which job it sent when."""

    sent: list

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        entry = self.reserve(entry) if advance else entry
        self.sent.append((entry.name, self.app.now()))


def _beat_schedule_volume(objects: list[dict]) -> dict:
    """The volume of the beat pod that holds its `--schedule` file (the last run of each job)."""
    spec = by_kind(objects, "Deployment")["edgeplug-beat"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    (path,) = [a.removeprefix("--schedule=") for a in container["command"] if "--schedule=" in a]
    (mount,) = [
        m for m in container["volumeMounts"] if path.startswith(m["mountPath"].rstrip("/") + "/")
    ]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    return volume


def _run_beat_pods(schedule_file, start: datetime, pod_lifetime: timedelta, end: datetime):
    """Beat pods one after the other from ``start`` to ``end``, each replaced after
    ``pod_lifetime`` (a release: `Recreate`), waking every minute; ``schedule_file(n)`` is
    the file pod ``n`` finds. What they sent, as (job, time)."""
    sent: list = []
    _RecordingScheduler.sent = sent
    pod_start, pod = start, 0
    with time_machine.travel(start, tick=False) as clock:
        while pod_start < end:
            scheduler = _RecordingScheduler(celery_app, schedule_filename=str(schedule_file(pod)))
            now, pod_end = pod_start, min(pod_start + pod_lifetime, end)
            while now < pod_end:
                clock.move_to(now)
                while scheduler.tick() == 0:  # one due job a tick: beat ticks again at once
                    pass
                now += timedelta(minutes=1)
            scheduler.close()
            pod, pod_start = pod + 1, pod_end
    return sent


def test_every_periodic_job_runs_each_interval_while_releases_replace_beat(objects, tmp_path):
    """Celery beat waits a whole interval before the first run of a job it has no last run of.
    With its schedule file on a volume that a new pod starts empty (an emptyDir), beat replaced
    every 5 hours never sent the 6-hourly jobs (usage partitions, card refund re-checks, token
    flush); kept on the base's claim, each job runs within every interval (the first, on a new
    claim, after one interval)."""
    volume = _beat_schedule_volume(objects)
    claim = volume.get("persistentVolumeClaim", {}).get("claimName")
    kept = claim in by_kind(objects, "PersistentVolumeClaim")

    def schedule_file(pod: int):
        return tmp_path / ("celerybeat-schedule" if kept else f"pod-{pod}-celerybeat-schedule")

    start = datetime(2026, 3, 2, tzinfo=UTC)
    end = start + timedelta(days=2)
    sent = _run_beat_pods(schedule_file, start, timedelta(hours=5), end)

    late = {}
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        times = [start] + [at for job, at in sent if job == name] + [end]
        longest = max(later - earlier for earlier, later in pairwise(times))
        if longest > entry["schedule"] + timedelta(minutes=1):  # beat wakes every minute here
            late[name] = longest
    assert late == {}


def test_migrations_run_as_a_job(objects):
    job = by_kind(objects, "Job")["edgeplug-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][-2:] == ["migrate", "--noinput"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_web_and_workers_have_autoscalers_and_disruption_budgets(objects):
    scaled = set(by_kind(objects, "Deployment")) - {"edgeplug-beat"}
    hpas = by_kind(objects, "HorizontalPodAutoscaler").values()
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == scaled
    deployments = by_kind(objects, "Deployment")
    budgets = {
        frozenset(p["spec"]["selector"]["matchLabels"].items())
        for p in by_kind(objects, "PodDisruptionBudget").values()
    }
    for name in scaled:
        labels = deployments[name]["spec"]["selector"]["matchLabels"]
        assert frozenset(labels.items()) in budgets, name


def _worker_queues(objects: list[dict]) -> set[str]:
    queues = set()
    for deployment in by_kind(objects, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for arg in container["command"]:
                if arg.startswith("--queues="):
                    queues |= set(arg.removeprefix("--queues=").split(","))
    return queues


def test_every_task_is_routed_to_a_queue_some_worker_consumes(objects):
    celery_app.loader.import_default_modules()
    consumed = _worker_queues(objects)
    assert consumed == {q.name for q in settings.CELERY_TASK_QUEUES}
    for task in celery_app.tasks:
        queue = celery_app.amqp.router.route({}, task)["queue"].name
        assert queue in consumed, task


def test_certification_runs_on_its_own_queue_and_the_sweeper_does_not():
    celery_app.loader.import_default_modules()

    def queue(task):
        return celery_app.amqp.router.route({}, task)["queue"].name

    assert queue("certification.tasks.run_stage") == "certification"
    assert queue("certification.tasks.sweep_stale_runs") == "default"
    assert queue("marketplace.tasks.expire_entitlements") == "default"
    assert queue("billing.tasks.close_billing_month") == "billing"
    assert queue("billing.tasks.collect_invoice_payment") == "billing"
    assert queue("billing.tasks.send_payment_notice") == "email"
    assert queue("billing.tasks.email_invoice") == "email"  # was billing: the docs said email


def test_the_hardware_simulation_stage_is_sent_to_its_own_queue():
    from certification.pipeline import canvas, levels

    assert canvas.stage_task(7, levels.SIMULATION).options["queue"] == "simulation"
    for stage in (levels.VALIDATION, levels.INVARIANTS, levels.SIGNING):
        assert "queue" not in canvas.stage_task(7, stage).options  # routed: certification


def test_every_queue_has_its_worker_deployment(objects):
    deployments = by_kind(objects, "Deployment")
    for queue in ("default", "certification", "simulation", "billing", "email"):
        (container,) = deployments[f"edgeplug-worker-{queue}"]["spec"]["template"]["spec"][
            "containers"
        ]
        assert f"--queues={queue}" in container["command"], queue


def test_the_grpc_server_is_a_probed_deployment_behind_a_service(objects):
    grpc = by_kind(objects, "Deployment")["edgeplug-grpc"]
    (container,) = grpc["spec"]["template"]["spec"]["containers"]
    assert container["command"][:3] == ["python", "manage.py", "grpcserver"]
    port = container["ports"][0]["containerPort"]
    assert f"0.0.0.0:{port}" in container["command"]  # not the loopback default
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"]["port"] == port  # grpc.health.v1, registered
    service = by_kind(objects, "Service")["edgeplug-grpc"]
    assert service["spec"]["selector"] == grpc["spec"]["selector"]["matchLabels"]


def _secret_example_names() -> dict[str, str]:
    pairs = {}
    for line in (BASE / "secret.example.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def test_secrets_come_from_a_secret_never_from_the_manifests(objects):
    assert not by_kind(objects, "Secret"), "a Secret with values must never be committed"
    example = _secret_example_names()
    assert example and all(value == "" for value in example.values()), example
    config = config_data(objects)
    assert not set(config) & set(example), "a secret name in the ConfigMap"
    for name, spec in pod_specs(objects):
        for container in spec.get("initContainers", []) + spec["containers"]:
            refs = [
                e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e
            ]
            assert refs == [SECRET_NAME], (name, container["name"])
            # Inline env only for what the pod alone knows (the downward API: POD_IP); a value
            # written there would bypass the ConfigMap/Secret.
            for var in container.get("env", []):
                assert set(var) == {"name", "valueFrom"}, (name, var)
                assert set(var["valueFrom"]) == {"fieldRef"}, (name, var)


def test_no_file_under_deploy_k8s_holds_a_credential():
    credential = re.compile(
        r"(://[^/\s:@]+:[^@\s]+@)|(sk_(live|test)_\w+)|(whsec_\w+)|(AKIA[0-9A-Z]{16})"
    )
    for path in K8S.rglob("*"):
        if path.is_file():
            assert not credential.search(path.read_text()), path


# Who mail comes from, where its links lead and the seller on invoices: left out, a deployment
# sends From the embedded default's noreply@edgeplug.invalid (refused by receiving servers)
# with links to 127.0.0.1. Until 2026-12-07 the kit set none of them.
MAIL_SETTINGS = {"PUBLIC_BASE_URL", "DEFAULT_FROM_EMAIL", "BILLING_SELLER_EMAIL"}


def _seller_settings() -> set[str]:
    source = (Path(settings.BASE_DIR) / "edgeplug" / "settings.py").read_text()
    return set(re.findall(r'"(BILLING_SELLER_[A-Z_]+)"', source))


def _overlay_config() -> dict[str, str]:
    """The ConfigMap values the example overlay replaces."""
    overlay = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    (patch,) = [p for p in overlay["patches"] if p["target"]["kind"] == "ConfigMap"]
    return {op["path"].removeprefix("/data/"): op["value"] for op in yaml.safe_load(patch["patch"])}


def assert_mail_and_links_on_its_host(config: dict[str, str]) -> None:
    """Links lead to the host served, and mail comes from (and is answered to) its domain."""
    assert set(config) >= MAIL_SETTINGS
    (host, *_) = config["ALLOWED_HOSTS"].split(",")
    assert config["PUBLIC_BASE_URL"] == f"https://{host}"
    assert config["DEFAULT_FROM_EMAIL"].endswith(f"@{host}>")
    assert config["BILLING_SELLER_EMAIL"] == f"billing@{host}"


def test_the_kit_says_who_mail_comes_from_and_where_its_links_lead(objects):
    sellers = _seller_settings()
    assert sellers >= {"BILLING_SELLER_EMAIL", "BILLING_SELLER_NAME", "BILLING_SELLER_TAX_ID"}
    config = config_data(objects)
    assert set(config) >= sellers
    assert_mail_and_links_on_its_host(config)


def test_the_example_overlay_moves_mail_and_links_to_its_own_host():
    assert_mail_and_links_on_its_host(_overlay_config())


def test_the_kits_example_sender_must_be_replaced_before_it_sends_mail(objects, tmp_path):
    """Its example.com addresses receive no mail: with an SMTP server the service says so."""
    mail = {name: config_data(objects)[name] for name in MAIL_SETTINGS}
    started = python_with_settings(
        tmp_path, "import django; django.setup()", EMAIL_URL="smtp+tls://mail:587", **mail
    )
    assert started.returncode != 0
    assert "Set DEFAULT_FROM_EMAIL to an address of your own domain." in started.stderr, (
        started.stderr[-2000:]
    )
