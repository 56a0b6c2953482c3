"""manage.py runstack: migrate, seed demo data, then run web + Celery worker + beat in one
foreground command; Ctrl-C (or SIGTERM) stops all three cleanly."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from edgeplug.core.processes import celery_command

# The start of Celery's SecurityWarning for a worker running as root (celery.platforms).
ROOT_WARNING_FILTER = "ignore:You're running the worker with superuser privileges"


class Command(BaseCommand):
    help = "Run the whole service (web, worker, beat) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
        parser.add_argument("--no-seed", action="store_true", help="Skip seed_demo.")

    def handle(self, *args, host, port, workers, concurrency, no_seed, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not no_seed:
            call_command("seed_demo")
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
                "--access-logfile",
                "-",
            ],
            "worker": celery_command("worker", "--concurrency", str(concurrency)),
            "beat": celery_command("beat", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME),
        }
        envs = dict.fromkeys(commands)
        if os.geteuid() == 0:
            # `make run` on a fresh machine runs as root (the set-up needs apt-get). Celery then
            # warns in every process; say it once here instead. Deployments run as an
            # unprivileged user (see the Dockerfile), where Celery has nothing to warn about.
            self.stdout.write(
                "Running as root: fine on a development machine; in production run EdgePlug "
                "as an unprivileged user."
            )
            envs["worker"] = {**os.environ, "PYTHONWARNINGS": ROOT_WARNING_FILTER}
        procs = {
            name: subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=envs[name])
            for name, cmd in commands.items()
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"EdgePlug is running on http://{host}:{port}/ "
                "(API docs at /api/v1/docs/, admin at /admin/). Press Ctrl-C to stop."
            )
        )
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping the rest.")
                    exit_code = proc.returncode or 1
                    stopping = True
            time.sleep(0.5)
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stdout.write("Stopped.")
        sys.exit(exit_code)
