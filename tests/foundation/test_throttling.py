"""Throttling per anonymous client, user and tenant answers 429 with Retry-After."""

import pytest

from edgeplug.errors import Throttled, retry_seconds

pytestmark = pytest.mark.django_db


def _rates(settings, **rates):
    base = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    base.update(rates)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": base}


def _hammer(call, times):
    return [call() for _ in range(times)]


def test_anonymous_sign_in_attempts_are_throttled(api, settings):
    _rates(settings, auth="3/min")
    responses = _hammer(
        lambda: api.post(
            "/api/v1/auth/token", {"email": "a@b.example", "password": "x"}, format="json"
        ),
        4,
    )
    assert [r.status_code for r in responses[:3]] == [401, 401, 401]
    last = responses[3]
    assert last.status_code == 429
    assert last.json()["code"] == "throttled"
    assert int(last["Retry-After"]) > 0


def test_a_client_cannot_reset_its_sign_in_budget_with_its_own_forwarded_for(api, settings):
    """The address is the TCP peer (docs/security.md): before, each new X-Forwarded-For a
    client sent was a fresh budget for its sign-in guesses."""
    _rates(settings, auth="3/min")
    codes = [
        api.post(
            "/api/v1/auth/token",
            {"email": "a@b.example", "password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_a_client_cannot_reset_its_anonymous_budget_with_its_own_forwarded_for(api, settings):
    _rates(settings, anon="3/min")
    codes = [
        api.get("/api/v1/agents", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_behind_a_proxy_each_client_has_its_budget_and_cannot_reset_it(api, settings):
    """TRUSTED_PROXY_HOPS=1 (an ingress appending the address it was reached from): the
    client is that last X-Forwarded-For entry; what the client wrote before it is not read.
    Without it, every client behind the ingress shares one budget (its address)."""
    settings.TRUSTED_PROXY_HOPS = 1
    _rates(settings, anon="2/min")

    def read(forwarded_for):
        return api.get(
            "/api/v1/agents", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded_for
        ).status_code

    one = [read(f"198.51.100.{n}, 203.0.113.1") for n in range(3)]  # spoofed, then the real
    assert one == [200, 200, 429]
    assert read("203.0.113.2") == 200  # another client behind the same ingress


def test_user_throttle(member_client, settings):
    client, _ = member_client("admin")
    _rates(settings, user="2/min")
    codes = [client.get("/api/v1/auth/me").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_tenant_budget_is_shared_by_its_members(member_client, settings):
    first, membership = member_client("admin")
    second, _ = member_client("operator", tenant=membership.tenant)
    outsider, _ = member_client("admin")
    _rates(settings, tenant="3/min")
    codes = [c.get("/api/v1/auth/me").status_code for c in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]
    assert outsider.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize(("wait", "told"), [(0, 1), (0.2, 1), (1, 1), (1.01, 2), (59.5, 60)])
def test_every_door_tells_a_wait_in_whole_seconds_rounded_up(wait, told):
    """One rule (``retry_seconds``) for Retry-After, gRPC's RetryInfo and the messages: whole
    seconds, rounded up, never "retry in 0 s"; a refusal carries it however it was built."""
    assert retry_seconds(wait) == told
    assert Throttled("Too many.", retry_after=wait).retry_after == told


def test_a_budget_lowered_below_what_was_spent_asks_for_the_whole_window(api, settings):
    """Four requests spent under 5/min, then the rate lowered to 2/min: the history outgrew the
    new rate and has no estimate. The 429 asks for the whole minute, as the portal and the
    gRPC doors say it, not "retry in 0 s" (DRF's own answer)."""
    _rates(settings, anon="5/min")
    assert [api.get("/api/v1/agents").status_code for _ in range(4)] == [200] * 4
    _rates(settings, anon="2/min")
    refused = api.get("/api/v1/agents")
    assert refused.status_code == 429
    assert (refused["Retry-After"], refused.json()["retry_after"]) == ("60", 60)
