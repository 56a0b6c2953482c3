"""Whole numbers typed as text (ids in URLs and filters, page numbers, command arguments)
are read by ``edgeplug.text.ascii_integer``: ASCII digits only, else None, never an
exception (a 500 wherever a typed id is read)."""

import pytest

from edgeplug.text import ascii_integer


@pytest.mark.parametrize("typed", ["0", "7", "0042", "9" * 30])
def test_ascii_digits_are_the_number_they_write(typed):
    assert ascii_integer(typed) == int(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1_0",
        "1.0",
        "²",  # str.isdigit takes it, int() refuses it
        "٣",  # another script's numeral, which int() reads as 3
        "\uff11",  # a fullwidth 1
        "9" * 4301,  # past int()'s limit on digits: ValueError
    ],
)
def test_anything_else_is_none(typed):
    assert ascii_integer(typed) is None
