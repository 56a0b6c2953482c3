"""Text that ends up in documents: the one rule for what characters it may hold (Django-free);
and what JSON text may hold that no stored or validated value can (a lone surrogate, NaN, a
number past a double, as a float or an integer); and what a number typed as text may be
(``ascii_integer``, ``ascii_decimal``).

Invoice documents are Factur-X XML (XML 1.0) and PDF: a control character other than tab,
line feed and carriage return, or U+FFFE/U+FFFF, cannot be written there, so every door whose
text reaches an invoice (billing account, plan name, finance's adjustment) refuses it when the
text is entered, never when a numbered invoice is rendered.

The same rule refuses the bidirectional embedding, override and isolate controls (U+202A to
U+202E, U+2066 to U+2069): XML could carry them, but a name holding one shows in another order
than it is stored ("Basic <U+202E>00.001 EUR" on a buyer's invoice reads as another price).
Names other people read (devices, plans) take this rule too. The marks U+200E/U+200F stay.
It refuses DEL and the C1 controls (U+007F to U+009F), which XML could carry but which show as
nothing or act on a terminal, as a package's names refuse them.
"""

import json
import math
import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NoReturn

from edgeplug.errors import NulCharacter

_C0_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f"
# Not characters at all (Unicode's noncharacters U+FFFE, U+FFFF), which XML 1.0 excludes too.
_NONCHARACTERS = r"\ufffe\uffff"
_NONCHARACTER = re.compile(f"[{_NONCHARACTERS}]")
# DEL and the C1 controls: XML 1.0 carries them, but they show as nothing or act on a terminal
# (U+009B is an 8-bit CSI), so names and document text refuse them as a package's names do.
_TERMINAL_CONTROLS = r"\x7f-\x9f"
_TERMINAL = re.compile(f"[{_TERMINAL_CONTROLS}]")
_BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
_FORBIDDEN = _C0_CONTROLS + _NONCHARACTERS + _TERMINAL_CONTROLS + _BIDI_CONTROLS
_NOT_IN_DOCUMENTS = re.compile(f"[{_FORBIDDEN}]")
_BIDI = re.compile(f"[{_BIDI_CONTROLS}]")
# What a terminal must not be handed as is from text others wrote: every C0 control (line
# breaks and tabs too, where a value is one line), DEL, the C1 controls and the bidirectional
# controls.
_NOT_ON_ONE_LINE = re.compile(rf"[\x00-\x1f{_TERMINAL_CONTROLS}{_BIDI_CONTROLS}]")
# What a blank is made of: the characters str.strip() strips (str.isspace), spelled out, so
# that the server's blank and a published pattern's are the same characters in any client's
# regex dialect (JavaScript's \s leaves out U+001C to U+001F and U+0085 and takes U+FEFF).
BLANKS = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
BLANK_CLASS = "".join(f"\\u{ord(char):04x}" for char in BLANKS)  # for a [...] of a pattern
# The same rule as OpenAPI patterns, for text an API strips before reading it: any blanks
# around (stripped), none of those characters within; where the field may not be blank,
# something left once stripped.
DOCUMENT_TEXT_PATTERN = rf"^[{BLANK_CLASS}]*[^{_FORBIDDEN}]*[{BLANK_CLASS}]*$"
NONBLANK_DOCUMENT_TEXT_PATTERN = (
    rf"^[{BLANK_CLASS}]*[^{_FORBIDDEN}{BLANK_CLASS}][^{_FORBIDDEN}]*[{BLANK_CLASS}]*$"
)


def document_text_starting_with(prefixes: list[str]) -> str:
    """The same rule for text that, unless blank, starts with one of ``prefixes`` (literal,
    as a regex alternative each)."""
    return rf"^[{BLANK_CLASS}]*(?:(?:{'|'.join(prefixes)})[^{_FORBIDDEN}]*)?[{BLANK_CLASS}]*$"


def ascii_integer(raw: str) -> int | None:
    """``raw`` as a whole number written in ASCII digits only, else None: no sign, space or
    ``1_0``, and none of the digits ``str.isdigit`` also takes (``²``, ``٣``), on which
    ``int()`` fails or reads another script's numeral; nor one past ``int()``'s limit on
    digits (4,300), which it refuses with ValueError."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    try:
        return int(raw)
    except ValueError:
        return None


# A minus, ASCII digits and at most one decimal point ("12.50", "-3", ".5", "5.").
_ASCII_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def ascii_decimal(raw: str) -> Decimal | None:
    """``raw`` as a number a person types (``_ASCII_DECIMAL``), blanks around it ignored, else
    None. ``Decimal`` reads more and takes it at a value the person may not have meant: ``1e2``
    is 100, ``1_0`` is 10, ten in Arabic-Indic digits is 10, and ``NaN`` or ``Infinity`` is
    no amount at all."""
    raw = raw.strip()
    return Decimal(raw) if _ASCII_DECIMAL.fullmatch(raw) else None


def unprintable(text: str) -> str | None:
    """Why ``text`` cannot go into an invoice document or a name others read, else None."""
    found = _NOT_IN_DOCUMENTS.search(text)
    if found is None:
        return None
    code = f"U+{ord(found.group()):04X}"
    if _BIDI.match(found.group()):
        return f"holds the bidirectional control {code}, which shows text in another order"
    if _TERMINAL.match(found.group()):
        return f"holds the control character {code}, which shows as nothing or acts on a terminal"
    if _NONCHARACTER.match(found.group()):
        return (
            f"holds the noncharacter {code}, which stands for no character and documents "
            "cannot carry"
        )
    # Every door's text, not only documents' (a reason, a device's name): so said of all.
    return (
        f"holds the control character {code}, which shows as nothing or acts on a terminal, "
        "and documents cannot carry"
    )


def not_one_line(text: str) -> str | None:
    """Why ``text``, a value printed as one line of what others read (a component's name in a
    message, a terminal's output), would not show as that one line, else None: it holds a
    character ``one_terminal_line`` escapes (a line break, a tab, any other control, a
    bidirectional control)."""
    found = _NOT_ON_ONE_LINE.search(text)
    if found is None:
        return None
    if _BIDI.match(char := found.group()):
        return unprintable(char)  # said as of any text
    code = f"U+{ord(char):04X}"
    return f"holds the control character {code}, which breaks the line or acts on a terminal"


def one_terminal_line(text: str) -> str:
    """``text`` to print as one line of a terminal: each character ``_NOT_ON_ONE_LINE`` names
    written as its escape (``\\x1b``, ``\\n``, ``\\u202e``), so text a server stored (from
    before its doors refused such characters) neither acts on the terminal nor poses as
    another line of the output."""
    return _NOT_ON_ONE_LINE.sub(
        lambda found: found.group().encode("unicode_escape").decode("ascii"), text
    )


def shortened(text: str, limit: int) -> str:
    """``text`` if it holds at most ``limit`` characters, else as much of it as fits before
    an ellipsis "…" (blanks before it dropped): cut without a mark, a shortened text reads as
    if it were all there is."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


# Unicode's Default_Ignorable_Code_Point, the ranges of DerivedCoreProperties.txt as of Unicode
# 17 (its unassigned code points included, kept for characters of this kind to come): what a
# renderer shows as nothing unless it knows better. Beside format characters
# it holds marks and letters: the combining grapheme joiner U+034F, the Khmer inherent vowels
# U+17B4/U+17B5, the Mongolian free variation selectors, the variation selectors U+FE00 to
# U+FE0F and U+E0100 to U+E01EF, and the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0.
# Python's unicodedata has no such property, hence the table.
_DEFAULT_IGNORABLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def _invisible(char: str) -> bool:
    """A character that takes no room and shows nothing: a default-ignorable code point
    (``_DEFAULT_IGNORABLE``: a zero-width space U+200B, a word joiner U+2060, a byte order mark
    U+FEFF, a variation selector, a Hangul filler …), or any other format character (Unicode
    category Cf), as this rule refused before it named the default-ignorable ones (before:
    only Cf, so U+034F or a Hangul filler made a hardware id another and a name blank)."""
    return _DEFAULT_IGNORABLE.match(char) is not None or unicodedata.category(char) == "Cf"


def says_nothing(text: str) -> bool:
    """Whether ``text`` shows nothing: only whitespace and invisible characters
    (``_invisible``), which ``str.strip`` keeps. A reason or a reply made of them reads as
    blank."""
    return all(char.isspace() or _invisible(char) for char in text)


def unreadable(text: str) -> str | None:
    """Why a name or text others read (a device's, a key's, a review's) would not show as it
    was written, else None: ``unprintable``'s reason, or, given at all, that it shows nothing
    (only invisible characters: a blank in the lists that show it)."""
    if refusal := unprintable(text):
        return refusal
    if text and says_nothing(text):
        return "holds only invisible characters, which read as nothing"
    return None


def invisible(text: str) -> str | None:
    """Why ``text`` cannot be an identifier people compare by eye (a hardware id): it holds an
    invisible character (``_invisible``), so it reads as another one it is not equal to; else
    None."""
    found = next((char for char in text if _invisible(char)), None)
    if found is None:
        return None
    return f"holds the invisible character U+{ord(found):04X}, which reads as nothing"


def _strings(data) -> Iterator[str]:
    """Every string in parsed JSON ``data``: keys and values, however deep."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def holds_nul(data) -> bool:
    """Whether any string (key or value) in ``data`` holds U+0000, which no database text
    column stores: the API's JSON parser and the doors that read JSON themselves refuse it."""
    return any("\x00" in text for text in _strings(data))


def refuse_nul(data, *, field: str | None = None) -> None:
    """Refuse (``nul_character``, naming the ``field`` if one) ``data`` holding U+0000
    (``holds_nul``): an action's text reaches it as sent from a form or a multipart body,
    which no parser checked."""
    if holds_nul(data):
        raise NulCharacter(field=field)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# In UTF-8 JSON a string holds U+0000 or a surrogate only as an escape (``\\u0000``,
# ``\\ud800``): a raw control character is malformed JSON and UTF-8 cannot encode a surrogate.
# So JSON bytes without such an escape hold neither once parsed, and are not walked.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NUL_OR_SURROGATE_ESCAPE = re.compile(rb"\\u0000|" + _SURROGATE_ESCAPE.pattern)


def holds_lone_surrogate(data) -> bool:
    """Whether any string in ``data`` holds a UTF-16 surrogate on its own (JSON's ``\\ud800``
    with no partner): not a character, so no UTF-8 text (a database column, a response)
    can hold it. A pair (``\\ud83d\\ude00``) is read as the one character it stands for."""
    return any(_LONE_SURROGATE.search(text) for text in _strings(data))


def may_hold_lone_surrogate(utf8_json: bytes) -> bool:
    """Whether UTF-8 JSON bytes may hold a lone surrogate once parsed (see above)."""
    return _SURROGATE_ESCAPE.search(utf8_json) is not None


def may_hold_nul_or_lone_surrogate(utf8_json: bytes) -> bool:
    """Whether UTF-8 JSON bytes may hold U+0000 or a lone surrogate once parsed (see above)."""
    return _NUL_OR_SURROGATE_ESCAPE.search(utf8_json) is not None


def refuse_json_constant(name: str) -> NoReturn:
    """``json.loads(parse_constant=...)``: ``NaN`` and ``Infinity``, which Python's json reads,
    are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def finite_json_float(text: str) -> float:
    """``json.loads(parse_float=...)``: a number past a double (``1e400``) is refused, not read
    as infinity, which neither JSON nor a schema validator holds."""
    value = float(text)
    if not math.isfinite(value):
        raise _past_a_double(text)
    return value


def finite_json_int(text: str) -> int:
    """``json.loads(parse_int=...)``: an integer past a double (``1`` and 400 zeros) is refused
    as ``finite_json_float`` refuses ``1e400``: Python holds it exactly, but no reader that
    takes JSON numbers as doubles (a device, a browser) does, nor a range compared as floats."""
    value = int(text)
    try:
        float(value)
    except OverflowError:
        raise _past_a_double(text) from None
    return value


class DuplicateKey(ValueError):
    """A JSON object naming ``key`` twice (``object_without_duplicate_keys``)."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"key {json.dumps(key)[:60]} appears twice in one object")


def object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads(object_pairs_hook=...)``: an object naming a key twice is refused
    (``DuplicateKey``), where Python's json keeps the last of them: two readers that keep
    different copies (a proxy, a log, a device's SDK) would read two documents."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


def json_document(text: str | bytes) -> Any:
    """``text`` read as JSON the way a document a person or a tool wrote is read everywhere
    (a package's manifest and SBOM, a certificate, a key set, the CLI's files): ``ValueError``
    for ``NaN`` or ``Infinity``, a number past a double (``1e400``, or an integer of 400
    digits) and an object naming a key twice (``DuplicateKey``), which Python's json reads
    (the last copy kept); ``RecursionError`` for a nesting deeper than the parser follows."""
    return json.loads(
        text,
        object_pairs_hook=object_without_duplicate_keys,
        parse_constant=refuse_json_constant,
        parse_float=finite_json_float,
        parse_int=finite_json_int,
    )


def _past_a_double(text: str) -> ValueError:
    return ValueError(f"number {text[:40]} overflows a double")


def json_safe(value):
    """``value`` with each NaN or infinity (at any depth of dicts, lists and tuples) written as
    the text ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``: JSON, and so JSON columns, cannot
    hold them, and a counterexample or a metric may well be one."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
