"""manage.py runstack: migrate, seed demo data, then run web + Celery worker + beat in one
foreground command; Ctrl-C (or SIGTERM) stops all three cleanly.

Without ``STRIPE_API_KEY`` it also runs localstripe on loopback as a clearly labelled
TEST-MODE payment processor, so a newcomer can buy with Stripe's test card numbers.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from edgeplug.core.commands import whole_number
from edgeplug.core.processes import celery_command
from edgeplug.grpc_server import EMPTY, address_refusal
from edgeplug.secret_files import owner_only, read_or_create

# The start of Celery's SecurityWarning for a worker running as root (celery.platforms).
ROOT_WARNING_FILTER = "ignore:You're running the worker with superuser privileges"


class Command(BaseCommand):
    help = "Run the whole service (web, worker, beat) in the foreground."

    def add_arguments(self, parser):
        # Numbers checked before anything runs (migrations, the demo seed): gunicorn took
        # --workers 0 and answered nothing, while this said the service was running.
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=whole_number(1, 65535), default=8000)
        parser.add_argument("--workers", type=whole_number(1), default=2, help="gunicorn workers")
        # Threads (gthread workers), not sync workers: browsers reach this server directly, and
        # a browser's idle preconnection holds a sync worker until its 30 s timeout.
        parser.add_argument(
            "--threads", type=whole_number(1), default=4, help="threads per gunicorn worker"
        )
        parser.add_argument(
            "--grpc-address", default=settings.GRPC_ADDRESS, help="host:port of the gRPC server"
        )
        parser.add_argument(
            "--concurrency", type=whole_number(1), default=2, help="Celery worker processes"
        )
        parser.add_argument("--no-seed", action="store_true", help="Skip seed_demo.")
        parser.add_argument(
            "--stripe-port",
            type=whole_number(1, 65535),
            default=8420,
            help="port of the test-mode payment processor (localstripe) when STRIPE_API_KEY "
            "is not set",
        )

    def handle(
        self,
        *args,
        host,
        port,
        workers,
        threads,
        grpc_address,
        concurrency,
        no_seed,
        stripe_port,
        **options,
    ):
        if refusal := address_refusal(grpc_address):
            raise CommandError(f"--grpc-address {grpc_address or EMPTY}: {refusal}.")
        # A fresh database takes a while to migrate (minutes on a busy 2-core machine): say so,
        # so a newcomer does not stare at a silent terminal.
        self.stdout.write("Applying database migrations and collecting static files …")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not no_seed:
            call_command("seed_demo", part="users")
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "edgeplug.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--access-logfile",
                "-",
            ],
            "worker": celery_command("worker", "--concurrency", str(concurrency)),
            "beat": celery_command("beat", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME),
            "grpc": [python, "manage.py", "grpcserver", "--address", grpc_address],
        }
        env = dict(os.environ)
        test_payments = None
        if not settings.STRIPE_API_KEY:
            test_payments = self._test_mode_payments(python, stripe_port, env)
        envs = dict.fromkeys(commands, env)
        if os.geteuid() == 0:
            # `make run` on a fresh machine runs as root (the set-up needs apt-get). Celery then
            # warns in every process; say it once here instead. Deployments run as an
            # unprivileged user (see the Dockerfile), where Celery has nothing to warn about.
            self.stdout.write(
                "Running as root: fine on a development machine; in production run EdgePlug "
                "as an unprivileged user."
            )
            envs["worker"] = {**env, "PYTHONWARNINGS": ROOT_WARNING_FILTER}
        procs = {
            name: subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=envs[name])
            for name, cmd in commands.items()
        }
        if test_payments is not None:
            procs["payments"] = test_payments
            self._register_webhook(env, host, port)
        # The demo agent goes through the real certification pipeline: a one-shot process, so
        # the service answers meanwhile (the log says when the agent is ready).
        seeding = None
        if not no_seed:
            seeding = subprocess.Popen(
                [python, "manage.py", "seed_demo", "--part", "agent"],
                cwd=settings.BASE_DIR,
                env=env,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"EdgePlug is running on http://{host}:{port}/ "
                f"(API docs at /api/v1/docs/, admin at /admin/, gRPC on {grpc_address})."
                " Press Ctrl-C to stop."
            )
        )
        stopping = False
        if test_payments is not None:
            self.stdout.write(
                self.style.WARNING(
                    f"PAYMENTS ARE IN TEST MODE: localstripe on {env['STRIPE_API_BASE']} "
                    "(no real money). Save a card with 4242 4242 4242 4242; "
                    "4000 0027 6000 3184 asks for 3-D Secure, 4000 0000 0000 0341 is declined."
                )
            )

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            if seeding is not None and seeding.poll() is not None:
                if seeding.returncode:
                    self.stderr.write(
                        f"seed_demo --part agent failed ({seeding.returncode}): the demo agent is "
                        "missing; the service runs on (see the error above)."
                    )
                seeding = None
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping the rest.")
                    exit_code = proc.returncode or 1
                    stopping = True
            time.sleep(0.5)
        children = [*procs.values(), *([seeding] if seeding else [])]
        for proc in children:
            if proc.poll() is None:
                # The seed, as a Ctrl-C stops it: it ends the demo run it is certifying (its
                # canvas runs in it), where SIGTERM killed it and left the run `running`.
                proc.send_signal(signal.SIGINT if proc is seeding else signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stdout.write("Stopped.")
        sys.exit(exit_code)

    def _test_mode_payments(self, python: str, stripe_port: int, env: dict) -> subprocess.Popen:
        """Start localstripe and point every child process at it through the environment."""
        data_dir = settings.VAR_DIR / "localstripe"
        data_dir.mkdir(parents=True, exist_ok=True)
        secret_file = data_dir / "webhook_secret"
        # Created private and whole; one an earlier run left readable (until 2026-12-07 it was
        # written at the umask's mode) is made private too.
        secret = read_or_create(secret_file, lambda: f"whsec_{secrets.token_hex(24)}").strip()
        owner_only(secret_file)
        proc = subprocess.Popen(
            [
                python,
                "-m",
                "billing.localstripe_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(stripe_port),
                "--data-dir",
                str(data_dir),
            ],
            cwd=settings.BASE_DIR,
            env={**env, "TMPDIR": str(data_dir)},
        )
        env["STRIPE_API_KEY"] = "sk_test_localstripe"
        env["STRIPE_API_BASE"] = f"http://127.0.0.1:{stripe_port}"
        env["STRIPE_WEBHOOK_SECRET"] = secret
        return proc

    def _register_webhook(self, env: dict, host: str, port: int) -> None:
        """Ask localstripe to deliver its events, signed, to our webhook endpoint."""
        stripe_port = int(env["STRIPE_API_BASE"].rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", stripe_port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        body = urllib.parse.urlencode(
            {
                "url": f"http://{host}:{port}/api/v1/stripe/webhook",
                "secret": env["STRIPE_WEBHOOK_SECRET"],
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            f"{env['STRIPE_API_BASE']}/_config/webhooks/edgeplug", data=body, method="POST"
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
        except OSError as exc:
            self.stderr.write(f"Could not register the test-mode webhook: {exc}")
