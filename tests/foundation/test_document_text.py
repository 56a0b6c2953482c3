"""Text printed on invoices: ``edgeplug.text`` refuses what the Factur-X XML cannot carry,
and the patterns the OpenAPI schema publishes for such fields accept exactly what the API
accepts once it has stripped the text (so clients and schemathesis know the rule); text
shortened to fit a column says so with an ellipsis."""

import re
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeplug.text import (
    DOCUMENT_TEXT_PATTERN,
    NONBLANK_DOCUMENT_TEXT_PATTERN,
    not_one_line,
    one_terminal_line,
    shortened,
    unprintable,
)

ALPHABET = "ab \t\n\r\x0b\x0c\x1c\x1f\x01\x00\x7f\x85\x9b\xa0\u2003\ufffe\u202e\u2066\u200f"


def test_a_control_character_is_named():
    assert unprintable("Acme\x01 GmbH") == (
        "holds the control character U+0001, which shows as nothing or acts on a terminal, "
        "and documents cannot carry"
    )
    assert unprintable("Acme\tGmbH\n") is None
    # DEL and the C1 controls (U+0085 NEL, U+009B a terminal's CSI), as a package's names
    # refuse them (before: accepted)
    for char in "\x7f\x85\x9b":
        assert unprintable(f"Acme{char}[2J") == (
            f"holds the control character U+{ord(char):04X}, which shows as nothing or acts "
            "on a terminal"
        )
    assert unprintable("Acme \xa0GmbH \xe9") is None  # a no-break space and é, past C1
    assert unprintable("Basic \u202e00.001 EUR") == (
        "holds the bidirectional control U+202E, which shows text in another order"
    )
    assert unprintable("\u05e9\u05dc\u05d5\u05dd \u200fAcme") is None  # a mark, not a control


def test_a_noncharacter_is_named_as_one():
    """U+FFFE and U+FFFF are no characters at all, not controls (before: called a control
    character that acts on a terminal)."""
    for char in "\ufffe\uffff":
        assert unprintable(f"Acme{char}") == (
            f"holds the noncharacter U+{ord(char):04X}, which stands for no character and "
            "documents cannot carry"
        )


@given(st.text(alphabet=ALPHABET, max_size=8))
def test_the_published_patterns_say_what_the_api_accepts(text):
    stripped = text.strip()  # what a DRF CharField reads
    printable = unprintable(stripped) is None
    assert bool(re.match(DOCUMENT_TEXT_PATTERN, text)) == printable
    assert bool(re.match(NONBLANK_DOCUMENT_TEXT_PATTERN, text)) == (printable and bool(stripped))


@given(st.text(alphabet="ab \u00e9", max_size=12), st.integers(min_value=1, max_value=10))
def test_shortened_text_fits_and_shows_that_it_was_shortened(text, limit):
    short = shortened(text, limit)
    assert len(short) <= limit
    if len(text) <= limit:
        assert short == text
    else:
        assert short.endswith("…") and text.startswith(short[:-1])


@given(st.text(alphabet=ALPHABET, max_size=8))
def test_text_said_not_to_be_one_line_is_the_text_a_terminal_line_escapes(text):
    """``not_one_line`` refuses (an SBOM's component name) exactly what ``one_terminal_line``
    would print escaped: tabs and line breaks too, which documents carry."""
    assert (not_one_line(text) is None) == (one_terminal_line(text) == text)


@pytest.mark.skipif(
    shutil.which("node") is None,
    reason="needs Node.js to read the published patterns as a JavaScript client does",
)
@pytest.mark.parametrize("pattern", [DOCUMENT_TEXT_PATTERN, NONBLANK_DOCUMENT_TEXT_PATTERN])
def test_the_published_patterns_read_alike_in_javascript(pattern):
    """JavaScript's \\s is not Python's: it takes U+FEFF, which str.strip() keeps, so a name
    of only a byte order mark failed the published pattern in a browser and was stored by the
    server. The patterns spell the characters Python strips, so both read them alike."""
    from tests.foundation.test_schema_matches_checks import _refused_in_javascript

    python = {c for c in range(1, 0x110000) if not re.match(pattern, chr(c))}
    assert _refused_in_javascript(pattern) == python
