"""Mail sent through an SMTP server leaves the machine: a sender or Reply-To in a domain
reserved never to receive mail (``.invalid``, as the embedded default's placeholders are, or the
deployment kit's ``example.com``) is refused by receiving servers, so the service refuses to
start with one, naming the variable. Mail that stays on the machine (the console default, a
file, Django's test outbox) keeps the placeholders. Until 2026-12-07 a deployment that set
``EMAIL_URL`` alone sent every invoice From ``noreply@edgeplug.invalid``."""

import pytest

from tests.processes import python_with_settings

START = "import django; django.setup(); print('started')"
SMTP = "smtp+tls://mail.acme-marketplace.de:587"
OWN = {"DEFAULT_FROM_EMAIL": "Acme <noreply@acme-marketplace.de>"}


def start(tmp_path, **env):
    return python_with_settings(tmp_path, START, **env)


@pytest.mark.parametrize(
    ("env", "variable", "domain"),
    [
        ({}, "DEFAULT_FROM_EMAIL", ".invalid"),  # the defaults
        (OWN, "BILLING_SELLER_EMAIL", ".invalid"),  # its default
        (
            {"DEFAULT_FROM_EMAIL": "noreply@marketplace.example.com"},
            "DEFAULT_FROM_EMAIL",
            "example.com",
        ),
        ({**OWN, "BILLING_SELLER_EMAIL": "billing@shop.TEST"}, "BILLING_SELLER_EMAIL", ".test"),
    ],
)
def test_an_smtp_server_with_a_sender_nobody_receives_stops_the_service(
    tmp_path, env, variable, domain
):
    started = start(tmp_path, EMAIL_URL=SMTP, **env)
    assert started.returncode != 0
    assert f"{variable} is " in started.stderr, started.stderr[-2000:]
    assert f"in {domain}, a domain reserved never to receive mail" in started.stderr
    assert f"Set {variable} to an address of your own domain." in started.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"EMAIL_URL": SMTP, **OWN, "BILLING_SELLER_EMAIL": "billing@acme-marketplace.de"},
        {"EMAIL_URL": SMTP, **OWN, "BILLING_SELLER_EMAIL": ""},  # no Reply-To at all
        {
            "EMAIL_URL": "smtp://mail.acme.de:25",
            "DEFAULT_FROM_EMAIL": "a@example.community",
            "BILLING_SELLER_EMAIL": "b@notexample.com",
        },
        {},  # the embedded default: console mail, placeholders
        {"EMAIL_URL": "memorymail://"},
    ],
)
def test_mail_that_can_be_delivered_or_stays_on_the_machine_starts(tmp_path, env):
    started = start(tmp_path, **env)
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.strip() == "started"
