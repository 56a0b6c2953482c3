"""Invisible marks on a device: a hardware id with a default-ignorable character added (a
combining grapheme joiner U+034F, a variation selector, a Hangul filler) reads as the id
without it, so it is refused, not registered as another piece of hardware; a name made only
of Hangul fillers reads as a blank in the lists, so it is refused as a name of only
invisible characters (``400 invalid_device_text``, docs/commerce.md). Before: both 201."""

import pytest

from marketplace.models import Device

pytestmark = pytest.mark.django_db


def _register(client, name, hardware_id):
    return client.post(
        "/api/v1/devices",
        {"name": name, "hardware_id": hardware_id, "core": "cortex-m4"},
        format="json",
    )


@pytest.mark.parametrize(
    "mark",
    ["\u034f", "\ufe0f", "\ufe00", "\U000e0100", "\u3164", "\u115f", "\u1160", "\uffa0", "\u180b"],
)
def test_an_invisible_mark_does_not_make_an_active_hardware_id_another(customer, mark):
    client, _ = customer
    assert _register(client, "gw-1", "hw-1").status_code == 201
    response = _register(client, "gw-1 again", f"hw-1{mark}")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid_device_text", "hardware_id")
    assert f"invisible character U+{ord(mark):04X}" in body["detail"]
    assert Device.objects.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize("name", ["\u3164", "\u3164\u3164", "\u115f", "\uffa0", " \u034f\ufe0f "])
def test_a_name_of_only_invisible_marks_is_refused(customer, name):
    client, _ = customer
    response = _register(client, name, "hw-1")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid_device_text", "name")
    assert "holds only invisible characters" in body["detail"]
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "gw \u2764\ufe0f",  # a heart shown as an emoji: its variation selector shows it so
        "gw \U0001f468\u200d\U0001f4bb",  # an emoji sequence joined by a zero-width joiner
        "\ud55c\uae00 gw",  # Hangul syllables, which no filler is
    ],
)
def test_a_name_with_marks_inside_visible_text_is_kept(customer, name):
    client, _ = customer
    response = _register(client, name, "hw-1")
    assert response.status_code == 201, response.json()
    assert Device.objects.get().name == name
