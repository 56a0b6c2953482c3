"""A deployment that is not the embedded default (PostgreSQL, several pods each with its own
emptyDir var/) must give every process the same SECRET_KEY: one minted by each process into its
own var/ made a JWT or portal session of one web pod 401 at the next, and signed everyone out
at every restart, while `manage.py check` passed. Only where the processes share one var/ (the
embedded default, or PLATFORM_SIGNING_KEYS_GENERATE=true, as for the platform key ring) is a
missing key generated there."""

import json

from tests.processes import python_with_settings

_SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'secret': s.SECRET_KEY, 'jwt': s.SIMPLE_JWT['SIGNING_KEY']}))"
)

# Reading the settings connects to no database: any PostgreSQL address will do.
POSTGRES = "postgres://postgres@127.0.0.1:5432/edgeplug_not_connected"


def test_a_pod_without_secret_key_on_postgres_refuses_to_start_naming_it(tmp_path):
    # As deploy/k8s/base/secret.example.env leaves them: SECRET_KEY= and JWT_SIGNING_KEY=.
    started = python_with_settings(
        tmp_path, _SHOW, DATABASE_URL=POSTGRES, SECRET_KEY="", JWT_SIGNING_KEY=""
    )
    assert started.returncode != 0, started.stdout
    assert "ImproperlyConfigured" in started.stderr
    assert "SECRET_KEY must be set" in started.stderr, started.stderr[-2000:]
    assert not (tmp_path / "secret_key").exists(), "a key of its own was minted into var/"


def test_pods_given_one_secret_key_sign_alike(tmp_path):
    loaded = []
    for pod in ("web-a", "web-b"):
        (tmp_path / pod).mkdir()
        started = python_with_settings(
            tmp_path / pod, _SHOW, DATABASE_URL=POSTGRES, SECRET_KEY="k" * 60
        )
        assert started.returncode == 0, started.stderr[-2000:]
        loaded.append(json.loads(started.stdout.strip().splitlines()[-1]))
    assert loaded[0] == loaded[1] == {"secret": "k" * 60, "jwt": "k" * 60}


def test_processes_sharing_one_var_dir_by_choice_share_its_generated_key(tmp_path):
    """docker compose's volume, a benchmark's stack: PLATFORM_SIGNING_KEYS_GENERATE=true says
    every process shares var/, where the first writes the key and the others read it."""
    loaded = []
    for _process in ("web", "worker"):
        started = python_with_settings(
            tmp_path,
            _SHOW,
            DATABASE_URL=POSTGRES,
            SECRET_KEY="",
            PLATFORM_SIGNING_KEYS_GENERATE="true",
        )
        assert started.returncode == 0, started.stderr[-2000:]
        loaded.append(json.loads(started.stdout.strip().splitlines()[-1]))
    assert loaded[0] == loaded[1]
    assert loaded[0]["secret"] == (tmp_path / "secret_key").read_text()
