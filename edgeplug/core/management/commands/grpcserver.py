"""manage.py grpcserver: serve the gRPC API (devices' usage reports) until SIGTERM/SIGINT.

Python runs one thread at a time per process, so one process serves at most one core's worth
of calls. With ``--processes N`` (``GRPC_PROCESSES``) the command forks N server processes
that share the port (``SO_REUSEPORT``: the kernel spreads connections over them, each device's
stream staying on one process), as gRPC's own multiprocessing example does, and supervises
them: a process that dies is replaced (the command gives up, stopping the others, when they
keep dying), SIGTERM or SIGINT stops them all gracefully, and a server process whose
supervisor was killed stops by itself. gRPC must not run in a process before it forks, so the
supervisor never creates a server or channel.
"""

import contextlib
import logging
import math
import multiprocessing
import os
import queue
import signal
import socket
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from edgeplug.arguments import seconds
from edgeplug.core.commands import whole_number
from edgeplug.grpc_server import EMPTY, address_refusal, build_server

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60
# More replacements than this within the window: something kills every server process (a
# broken configuration, a full disk), so the command stops instead of looping.
MAX_RESTARTS, RESTART_WINDOW_S = 5, 60.0
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class Command(BaseCommand):
    help = "Serve the gRPC API (GRPC_ADDRESS; TLS with GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE)."

    def add_arguments(self, parser):
        parser.add_argument("--address", default=settings.GRPC_ADDRESS, help="host:port")
        parser.add_argument(
            "--grace", type=seconds(), default=10.0, help="seconds to finish calls (10)"
        )
        parser.add_argument(
            "--processes",
            type=whole_number(1),
            default=settings.GRPC_PROCESSES,
            help="server processes sharing the port (default: GRPC_PROCESSES, %(default)s)",
        )

    def handle(self, *args, address, grace, processes, **options):
        if refusal := address_refusal(address):
            raise CommandError(f"Cannot serve on {address or EMPTY}: {refusal}.")
        stop = _stop_on_signals()
        if processes == 1:
            try:
                server, port = build_server(address)
            except RuntimeError as exc:  # grpc: "Failed to bind to address ... message.."
                raise CommandError(f"Cannot serve on {address}: {str(exc).rstrip('.')}.") from exc
            server.start()
            self._announce(address, port, processes)
            stop.wait()
            server.stop(grace).wait()
            return
        with _reserved_port(address) as port:
            host = address.rsplit(":", 1)[0]
            pool = _Pool(f"{host}:{port}", grace, stop)
            try:
                for _ in range(processes):
                    if stop.is_set():  # stopped while they start: fork no more
                        return
                    pool.add()
                self._announce(address, port, processes)
                while not stop.is_set():
                    pool.replace_dead()
                    stop.wait(0.2)
            finally:
                pool.stop()

    def _announce(self, address: str, port: int, processes: int) -> None:
        tls = "TLS" if settings.GRPC_TLS_CERT_FILE and settings.GRPC_TLS_KEY_FILE else "plaintext"
        host = address.rsplit(":", 1)[0]
        plural = "es" if processes > 1 else ""
        self.stdout.write(
            f"gRPC serving on {host}:{port} ({tls}, {processes} process{plural})", ending="\n"
        )
        self.stdout.flush()


class _Flag:
    """Set by a signal handler, polled by the main loop: a handler only sets a flag, since
    touching threading primitives from a handler can deadlock the thread waiting on them."""

    def __init__(self):
        self._set = False

    def set(self, *_):
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float = math.inf) -> None:
        """Until set, or ``timeout`` seconds (to within a tenth of a second)."""
        deadline = time.monotonic() + timeout
        while not self._set and time.monotonic() < deadline:
            time.sleep(0.1)


def _stop_on_signals() -> _Flag:
    flag = _Flag()
    for sig in STOP_SIGNALS:
        signal.signal(sig, flag.set)
    return flag


@contextlib.contextmanager
def _reserved_port(address: str):
    """The address's port, held while the servers run by a bound (not listening)
    ``SO_REUSEPORT`` socket: port 0 becomes one free port they all bind, and no other program
    can take it between two of them starting. A plain bind first makes sure nobody holds the
    port already, another grpcserver included (its processes would share it with ours). The
    kernel hands connections only to listening sockets."""
    host, _, port = address.rpartition(":")
    reservation = None
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.bind(sockaddr)
            sockaddr = probe.getsockname()  # port 0: the free port the kernel chose
        reservation = socket.socket(family, kind, proto)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reservation.bind(sockaddr)  # fails only if taken in the instant since the probe closed
    except (OSError, ValueError) as exc:  # a bad host (socket.gaierror) or port, a port taken
        if reservation is not None:
            reservation.close()
        raise CommandError(
            f"Cannot serve on {address}: {getattr(exc, 'strerror', None) or exc}."
        ) from exc
    with reservation:
        yield reservation.getsockname()[1]


class _Pool:
    """The server processes: forked from this one (which has run no gRPC code), each bound to
    the shared port; replaced when one dies."""

    def __init__(self, address: str, grace: float, stop: _Flag):
        self.address, self.grace, self.stop_requested = address, grace, stop
        self.context = multiprocessing.get_context("fork")
        self.ready = self.context.Queue()
        self.processes: list = []
        self.restarts: list[float] = []

    def add(self) -> None:
        """Fork one server process and wait until it serves (or the command is stopped)."""
        connections.close_all()  # a child must open its own; a shared socket corrupts both
        # Stop signals are held from the fork until the child has its own handlers: one
        # arriving in between would otherwise run the supervisor's handler in the child.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process = self.context.Process(
                target=_serve, args=(self.address, self.grace, self.ready, os.getpid())
            )
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        self.processes.append(process)
        self._await_ready(process)

    def _await_ready(self, process) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.stop_requested.is_set():
            try:
                pid, outcome = self.ready.get(timeout=0.2)
            except queue.Empty:
                if not process.is_alive():
                    raise CommandError(
                        f"A gRPC server process exited with code {process.exitcode} before serving."
                    ) from None
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"A gRPC server process did not start within {START_TIMEOUT_S} s."
                    ) from None
                continue
            if outcome != "ready":
                raise CommandError(f"A gRPC server process failed to start: {outcome}")
            if pid == process.pid:
                return

    def replace_dead(self) -> None:
        for process in list(self.processes):
            if process.is_alive():
                continue
            self.processes.remove(process)
            now = time.monotonic()
            self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_S] + [now]
            if len(self.restarts) > MAX_RESTARTS:
                raise CommandError(
                    f"gRPC server processes died {len(self.restarts)} times within "
                    f"{RESTART_WINDOW_S:.0f} s (the last with code {process.exitcode}); "
                    "stopping."
                )
            log.warning(
                "gRPC server process %s exited with code %s; starting another",
                process.pid,
                process.exitcode,
            )
            self.add()

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: the child finishes its calls within the grace
        deadline = time.monotonic() + self.grace + 5
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("gRPC server process %s did not stop in time; killed", process.pid)
                process.kill()
                process.join()


def _serve(address: str, grace: float, ready, supervisor: int) -> None:
    """One server process: bind the shared port, say so, serve until SIGTERM or SIGINT, or
    until the supervisor is gone (killed without the chance to stop us)."""
    stop = _stop_on_signals()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # held since the fork
    try:
        server, _ = build_server(address, reuse_port=True)
        server.start()
    except Exception as exc:
        ready.put((os.getpid(), f"{type(exc).__name__}: {exc}"))
        raise
    ready.put((os.getpid(), "ready"))
    while not stop.is_set() and os.getppid() == supervisor:
        stop.wait(1.0)
    server.stop(grace).wait()
