"""Commands in several terminals share one session file: a long `status --run --watch` that
refreshes its access token never saves over a sign-in made meanwhile elsewhere, and
survives another command's refresh (the server rotates refresh tokens and blacklists the
old one), taking the session on disk."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from certification.models import CertificationRun
from tests.cli.conftest import member
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    CertificationRunFactory,
    TenantFactory,
)

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
