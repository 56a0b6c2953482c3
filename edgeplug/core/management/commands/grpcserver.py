"""manage.py grpcserver: serve the gRPC API (devices' usage reports) until SIGTERM/SIGINT."""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from edgeplug.grpc_server import build_server


class Command(BaseCommand):
    help = "Serve the gRPC API (GRPC_ADDRESS; TLS with GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE)."

    def add_arguments(self, parser):
        parser.add_argument("--address", default=settings.GRPC_ADDRESS, help="host:port")
        parser.add_argument("--grace", type=float, default=10.0, help="seconds to finish calls")

    def handle(self, *args, address, grace, **options):
        # A signal handler only sets a flag: touching threading primitives from a handler
        # can deadlock the main thread that is waiting on them.
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        server, port = build_server(address)
        server.start()
        tls = "TLS" if settings.GRPC_TLS_CERT_FILE and settings.GRPC_TLS_KEY_FILE else "plaintext"
        host = address.rsplit(":", 1)[0]
        self.stdout.write(f"gRPC serving on {host}:{port} ({tls})", ending="\n")
        self.stdout.flush()
        while not stopping:
            time.sleep(0.2)
        server.stop(grace).wait()
