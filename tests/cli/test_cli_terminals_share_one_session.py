"""Commands in several terminals share one session file: a long `status --run --watch` that
refreshes its access token never saves over a sign-in made meanwhile elsewhere, and
survives another command's refresh (the server rotates refresh tokens and blacklists the
old one), taking the session on disk; and a logout waits for a refresh or login made meanwhile, then
revokes and forgets the session they saved."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from django.utils import timezone

from certification.models import CertificationRun
from marketplace.cli.config import (
    CONFIG_DIR_ENV,
    SESSION_LOCK_FILE,
    Session,
    save_session,
    session_lock,
)
from tests.cli.conftest import member
from tests.factories import (
    PASSWORD,
    AgentFactory,
    AgentVersionFactory,
    CertificationRunFactory,
    TenantFactory,
)
from tests.processes import wait_while_running

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Past the access token's lifetime (5 minutes), well within the refresh token's (a day).
EXPIRED = timedelta(minutes=30)


@pytest.fixture
def clock():
    """The server's clock, moved on by the test to expire the access tokens it issued."""
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        yield traveller


@pytest.fixture
def run(developer):
    tenant = developer.memberships.get().tenant
    version = AgentVersionFactory(agent=AgentFactory(tenant=tenant))
    return CertificationRunFactory(version=version, running=True)


def _watch_then_meanwhile(cli, run, clock, elsewhere) -> tuple[int, str, str]:
    """Start a watch of ``run``; once it has shown the run, pause it, let its access token
    expire, do ``elsewhere`` (another terminal), finish the run and let the watch go on: its
    next poll is answered 401 and it refreshes. Its exit status, stdout and stderr."""
    watch = cli.start("status", "--run", str(run.pk), "--watch", "--interval", "0.2")
    try:
        first = watch.stdout.readline()
        assert first.startswith(f"run {run.pk} "), (first, watch.stderr.read())
        watch.send_signal(signal.SIGSTOP)
        clock.shift(EXPIRED)
        elsewhere()
        CertificationRun.objects.filter(pk=run.pk).update(status="passed", progress=100)
        watch.send_signal(signal.SIGCONT)
        out, err = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    return watch.returncode, first + out, err


def test_a_watch_survives_another_command_refreshing_the_session(signed_in, developer, run, clock):
    """The other command's refresh blacklisted the refresh token the watch held: the watch
    ended in session_expired, though the session on disk was valid."""
    before = signed_in.session()

    def refresh_elsewhere():
        signed_in.ok("status", str(run.version.agent_id))
        assert signed_in.session()["refresh"] != before["refresh"]

    status, out, err = _watch_then_meanwhile(signed_in, run, clock, refresh_elsewhere)
    assert status == 0, err
    assert f"run {run.pk} (basic): passed 100%" in out
    session = signed_in.session()
    assert session["email"] == developer.email
    assert session["refresh"] != before["refresh"]
    assert (signed_in.config_dir / "config.json").stat().st_mode & 0o777 == 0o600
    signed_in.ok("status", str(run.version.agent_id))  # what the watch saved still signs in


def test_a_watch_never_saves_its_session_over_a_login_made_meanwhile(
    signed_in, developer, run, clock, live_server
):
    """The watch refreshed ITS session and saved it over config.json: the login made
    meanwhile in another terminal (another account, another tenant) was silently undone,
    and the next upload went to the old tenant."""
    other = member(TenantFactory(slug="other-vendor", is_vendor=True, is_customer=False))

    def login_elsewhere():
        signed_in.ok("login", "--server", live_server.url, "--email", other.email)

    status, _, err = _watch_then_meanwhile(signed_in, run, clock, login_elsewhere)
    assert status == 1
    assert err.startswith("error: session_changed: "), err
    assert other.email in err and "run the command again" in err
    session = signed_in.session()
    assert (session["email"], session["tenant"]) == (other.email, "other-vendor")


def test_a_watch_never_signs_in_again_after_a_logout_made_meanwhile(signed_in, run, clock):
    status, _, err = _watch_then_meanwhile(signed_in, run, clock, lambda: signed_in.ok("logout"))
    assert status == 1
    assert err.startswith("error: session_changed: "), err
    assert not (signed_in.config_dir / "config.json").exists()


def _waits_for_the_lock(pid: int, lock: Path) -> bool:
    """Whether process ``pid`` waits for the flock on ``lock`` (the kernel's own list of
    locks, ``->`` before a request it has not granted yet)."""
    inode = f":{lock.stat().st_ino:d}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1:3] == ["->", "FLOCK"] and fields[5] == str(pid) and fields[6].endswith(inode):
            return True
    return False


def _logout_while_another_terminal_saves(
    cli, monkeypatch, server: str, meanwhile: Callable[[], Session]
) -> str:
    """Hold the session lock as another terminal's command does while it refreshes or signs
    in, start ``logout``, and once logout waits for that lock save the session
    ``meanwhile()`` makes (under the lock) and let it go. Logout must have revoked and
    forgotten that session: its stdout."""
    monkeypatch.setenv(CONFIG_DIR_ENV, str(cli.config_dir))
    with session_lock():
        logout = cli.start("logout")
        try:
            lock = cli.config_dir / SESSION_LOCK_FILE
            wait_while_running(
                logout,
                lambda: _waits_for_the_lock(logout.pid, lock),
                timeout=60,
                what="logout never waited for the session lock",
            )
            saved = meanwhile()
            save_session(saved)
        except BaseException:
            logout.kill()
            logout.communicate()
            raise
    out, err = logout.communicate(timeout=60)
    assert logout.returncode == 0, err
    assert not (cli.config_dir / "config.json").exists()
    assert not _still_signs_in(server, saved.refresh), "logout forgot a live session unrevoked"
    return out


def _post(server: str, path: str, body: dict) -> requests.Response:
    return requests.post(f"{server}/api/v1/auth/{path}", json=body, timeout=30)


def _still_signs_in(server: str, refresh: str) -> bool:
    return _post(server, "token/refresh", {"refresh": refresh}).status_code == 200


def test_logout_waits_for_a_refresh_made_meanwhile_and_revokes_the_refreshed_token(
    signed_in, developer, live_server, monkeypatch
):
    """Logout read the session without the lock: another terminal's refresh meanwhile
    rotated the refresh token logout held (the server blacklisted it), logout was answered
    token_not_valid, said the session had already ended and deleted the file holding the
    new, live token, which stayed valid on the server. With the lock held here, that logout
    revoked the token it had read at once, and waited only to delete the file."""

    def refreshed() -> Session:
        stored = Session(**signed_in.session())
        answer = _post(live_server.url, "token/refresh", {"refresh": stored.refresh})
        assert answer.status_code == 200, (
            "logout revoked the session it read before it held the session lock",
            answer.text,
        )
        stored.access, stored.refresh = answer.json()["access"], answer.json()["refresh"]
        return stored

    out = _logout_while_another_terminal_saves(signed_in, monkeypatch, live_server.url, refreshed)
    assert out == f"signed out of {live_server.url} as {developer.email}\n"


def test_logout_waits_for_a_login_made_meanwhile_and_revokes_what_it_deletes(
    signed_in, live_server, monkeypatch
):
    """Logout revoked the session it had read, then deleted the file holding the login made
    meanwhile in another terminal: that sign-in was forgotten on this machine but its
    refresh token stayed valid on the server. It now signs out the session it finds when it
    has the lock, and says whose."""
    other = member(TenantFactory(slug="other-vendor", is_vendor=True, is_customer=False))

    def logged_in() -> Session:
        answer = _post(live_server.url, "token", {"email": other.email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        tokens = {name: body[name] for name in ("access", "refresh", "tenant", "role")}
        return Session(server=live_server.url, email=other.email, **tokens)

    out = _logout_while_another_terminal_saves(signed_in, monkeypatch, live_server.url, logged_in)
    assert out == f"signed out of {live_server.url} as {other.email}\n"
