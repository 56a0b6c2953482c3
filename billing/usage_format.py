"""The usage event format (docs/metering.md): parse a batch as a device sent it into
``EventIn`` values, refusing the whole batch, with a code, on the first malformed event."""

import re
from datetime import UTC, datetime
from hashlib import sha256
from json.encoder import encode_basestring_ascii
from typing import Annotated

import msgspec

from billing.errors import BatchTooLarge, InvalidEvent, MalformedBatch
from billing.models import UsageKind
from marketplace.packageformat.manifest import MAX_VERSION_LENGTH  # a version as packaged

MAX_EVENTS = 1000
MAX_INT = 2**63 - 1  # a PostgreSQL bigint
# Per kind: the fields an event must have and those it may have, beside seq, kind, agent and
# version.
KIND_FIELDS = {
    UsageKind.SESSION: ({"started_at", "ended_at"}, {"inferences", "peak_arena_bytes"}),
    UsageKind.INFERENCES: ({"started_at", "ended_at", "inferences"}, {"peak_arena_bytes"}),
    UsageKind.HEARTBEAT: ({"at"}, {"peak_arena_bytes"}),
}
_COMMON = {"seq", "kind", "agent", "version"}
# Per kind: the keys an event must have, and the keys it may have (built once, not per event).
_SHAPES = {
    kind: (frozenset(_COMMON | required), frozenset(_COMMON | required | optional))
    for kind, (required, optional) in KIND_FIELDS.items()
}


class EventIn:
    """One parsed event, with what storing it needs made once: its timestamps in ISO 8601 and
    its fingerprint (a plain class with slots: a batch makes 1,000 of them)."""

    __slots__ = (
        "agent",
        "ended_at",
        "ended_iso",
        "fingerprint",
        "inferences",
        "kind",
        "peak_arena_bytes",
        "seq",
        "started_at",
        "started_iso",
        "version",
    )

    def __init__(
        self,
        seq: int,
        kind: str,
        agent: int,
        version: str,
        started_at: datetime,
        ended_at: datetime,
        inferences: int | None = None,
        peak_arena_bytes: int | None = None,
        started_iso: str | None = None,
        ended_iso: str | None = None,
    ) -> None:
        """``started_iso`` and ``ended_iso``, when given, are the timestamps' ``isoformat()``
        (``_iso`` knows it without formatting)."""
        self.seq, self.kind, self.agent, self.version = seq, kind, agent, version
        self.started_at, self.ended_at = started_at, ended_at
        self.inferences, self.peak_arena_bytes = inferences, peak_arena_bytes
        self.started_iso = started_iso = started_iso or started_at.isoformat()
        self.ended_iso = ended_iso = ended_iso or ended_at.isoformat()
        # What a resend must repeat exactly; a seq resent with another one is seq_conflict.
        # The SHA-256 of json.dumps([kind, agent, version, started_at, ended_at, inferences,
        # peak_arena_bytes]) (timestamps in ISO 8601), written out here as json.dumps writes
        # it (the stored fingerprints were made so): every part but the version is a number,
        # null, or a string that needs no escaping.
        self.fingerprint = sha256(
            f'["{kind}", {agent}, {encode_basestring_ascii(version)}, '
            f'"{started_iso}", "{ended_iso}", '
            f"{_json_number(inferences)}, {_json_number(peak_arena_bytes)}]".encode()
        ).hexdigest()

    def __repr__(self) -> str:
        return f"EventIn(seq={self.seq}, kind={self.kind!r}, agent={self.agent})"


def _json_number(value: int | None) -> str:
    return "null" if value is None else str(value)


# --- the fast path: a well-formed batch decoded straight from JSON bytes -------------------

_Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)]
_Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)]
_Version = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_VERSION_LENGTH)]
_Stamp = Annotated[str, msgspec.Meta(max_length=40)]


class _Shape(msgspec.Struct, tag_field="kind", forbid_unknown_fields=True):
    """An event of one kind, tagged by its ``kind``."""


class _Event(_Shape):
    """What every kind of event names: its number in the device's sequence and the agent
    version it is about."""

    seq: _Id
    agent: _Id
    version: _Version


class _Span(_Event):
    """An event over a stretch of time."""

    started_at: _Stamp
    ended_at: _Stamp


# An optional field left out is UNSET, not None, so that the keys a body holds can be counted
# (``_strings_in``); ``_given`` reads both as None.
_Optional = _Count | None | msgspec.UnsetType


class _Session(_Span, tag=UsageKind.SESSION.value):
    inferences: _Optional = msgspec.UNSET
    peak_arena_bytes: _Optional = msgspec.UNSET


class _Inferences(_Span, tag=UsageKind.INFERENCES.value):
    inferences: _Count
    peak_arena_bytes: _Optional = msgspec.UNSET


class _Heartbeat(_Event, tag=UsageKind.HEARTBEAT.value):
    at: _Stamp
    peak_arena_bytes: _Optional = msgspec.UNSET


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[
        list[_Session | _Inferences | _Heartbeat], msgspec.Meta(max_length=MAX_EVENTS)
    ]


_DECODER = msgspec.json.Decoder(_Batch)
_KIND_OF = {shape: shape.__struct_config__.tag for shape in (_Session, _Inferences, _Heartbeat)}


def _strings_of_kind(shape: type[_Shape]) -> tuple[int, tuple[str, ...]]:
    """How many JSON strings an event of ``shape`` holds whatever it leaves out (the key
    ``kind`` and its tag, then each required field's key, and its value where that is text),
    and its optional fields, each a key more when given."""
    fields = msgspec.inspect.type_info(shape).fields
    required = [field for field in fields if field.required]
    texts = sum(isinstance(field.type, msgspec.inspect.StrType) for field in required)
    return 2 + len(required) + texts, tuple(f.name for f in fields if not f.required)


# Per kind: the strings it always holds, and its optional fields.
_STRINGS = {shape: _strings_of_kind(shape) for shape in _KIND_OF}
_ESCAPE = re.compile(rb"\\.")


def _strings_in(body: bytes) -> int:
    """How many strings the JSON ``body`` holds: half its quotes, once each escape (``\\"``
    and ``\\\\`` among them, a backslash and the character it escapes) is taken out."""
    return (_ESCAPE.sub(b"", body) if b"\\" in body else body).count(b'"') // 2


def _given(value):
    return None if value is msgspec.UNSET else value


def decode_batch(body: bytes) -> list[EventIn] | None:
    """The events of a UTF-8 JSON body holding a well-formed batch, decoded and checked by
    msgspec's compiled decoder (a typed schema of the same rules as ``parse_batch``), or None
    for anything else: the caller then parses the body as JSON and ``parse_batch`` refuses it
    with its code. Only a batch that ``parse_batch`` would accept as it is passes here, so both
    paths give the same events; the body must hold no ``\\u0000`` (the JSON parser's refusal).

    msgspec keeps the last of a key an object names twice, where the JSON parser refuses it
    (``duplicate_json_key``), so the strings the body holds are counted against those the
    decoded events account for: one more (a key given twice) hands the body to the parser."""
    try:
        batch = _DECODER.decode(body)
    # Malformed, not the shape, or a string of bad UTF-8 (msgspec raises UnicodeDecodeError
    # for that): read as any JSON body is, which refuses it (malformed_json).
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    strings = 1  # the key "events"
    for event in batch.events:
        always, optional = _STRINGS[type(event)]
        strings += always + sum(getattr(event, name) is not msgspec.UNSET for name in optional)
    if strings != _strings_in(body):
        return None
    events = []
    for event in batch.events:
        if "\x00" in event.version:
            return None
        if type(event) is _Heartbeat:
            started_at = ended_at = _utc(event.at)
            if started_at is None:
                return None
            started_iso = ended_iso = _iso(event.at, started_at)
            inferences = None
        else:
            started_at, ended_at = _utc(event.started_at), _utc(event.ended_at)
            if ended_at is None or started_at is None or ended_at < started_at:
                return None
            started_iso, ended_iso = (
                _iso(event.started_at, started_at),
                _iso(event.ended_at, ended_at),
            )
            inferences = _given(event.inferences)
        events.append(
            EventIn(
                event.seq,
                _KIND_OF[type(event)],
                event.agent,
                event.version,
                started_at,
                ended_at,
                inferences,
                _given(event.peak_arena_bytes),
                started_iso,
                ended_iso,
            )
        )
    return events


def _iso(value: str, moment: datetime) -> str:
    """``moment.isoformat()`` for the UTC ``moment`` read from ``value``: ``value`` itself when
    it is already written so, as devices send it (``YYYY-MM-DDTHH:MM:SS+00:00``: the only
    25-character form ``fromisoformat`` reads with these separators and a zero offset), which
    saves formatting up to 2,000 timestamps a batch; anything else is formatted."""
    if (
        len(value) == 25
        and value.endswith("+00:00")
        and value[4] == value[7] == "-"
        and value[10] == "T"
        and value[13] == value[16] == ":"
    ):
        return value
    return moment.isoformat()


def _utc(value: str) -> datetime | None:
    """``_timestamp``'s reading of a string, or None where it refuses one."""
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is UTC:
            return moment
        return None if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# --- the reference parser: any decoded JSON, refused with a code ---------------------------


def parse_batch(data) -> list[EventIn]:
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise MalformedBatch('Send {"events": [...]}.')
    if set(data) != {"events"}:
        raise MalformedBatch(f"Unknown fields: {', '.join(sorted(set(data) - {'events'}))}.")
    events = data["events"]
    refuse_too_many(len(events))
    return [parse_event(raw, index) for index, raw in enumerate(events)]


def refuse_too_many(count: int) -> None:
    """A batch of ``count`` events is refused ``batch_too_large`` before any event is read,
    at either door."""
    if count > MAX_EVENTS:
        raise BatchTooLarge(f"A batch holds at most {MAX_EVENTS} events; this one has {count}.")


def parse_event(raw, index: int) -> EventIn:
    if not isinstance(raw, dict):
        raise InvalidEvent("an event is an object", index=index)
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _SHAPES:
        raise InvalidEvent(f"kind is one of {', '.join(KIND_FIELDS)}", index=index, field="kind")
    required, allowed = _SHAPES[kind]
    keys = raw.keys()
    if not keys >= required:
        _reject_missing(raw, required, index)
    if not keys <= allowed:
        _reject_unknown(raw, allowed, index)
    if kind == UsageKind.HEARTBEAT:
        started_at = ended_at = _timestamp(raw, "at", index)
    else:
        started_at = _timestamp(raw, "started_at", index)
        ended_at = _timestamp(raw, "ended_at", index)
        _reject_ended_before_started(started_at, ended_at, index)
    inferences, peak_arena_bytes = raw.get("inferences"), raw.get("peak_arena_bytes")
    if inferences is None and kind == UsageKind.INFERENCES:
        # What an inferences event counts: required, so never null (gRPC cannot send it).
        raise InvalidEvent(
            "an inferences event counts its inferences", index=index, field="inferences"
        )
    return EventIn(
        _integer(raw, "seq", index, minimum=1),
        kind,
        _integer(raw, "agent", index, minimum=1),
        _version(raw, index),
        started_at,
        ended_at,
        None if inferences is None else _integer(raw, "inferences", index),
        None if peak_arena_bytes is None else _integer(raw, "peak_arena_bytes", index),
    )


def _reject_missing(raw: dict, fields: frozenset[str], index: int) -> None:
    missing = sorted(fields - set(raw))
    if missing:
        raise InvalidEvent("this field is required", index=index, field=missing[0])


def _reject_unknown(raw: dict, fields: frozenset[str], index: int) -> None:
    unknown = sorted(str(key) for key in set(raw) - fields)
    if unknown:
        raise InvalidEvent(
            f"unknown field for a {raw['kind']} event", index=index, field=unknown[0]
        )


def _reject_ended_before_started(started_at: datetime, ended_at: datetime, index: int) -> None:
    if ended_at < started_at:
        raise InvalidEvent(
            "ended_at is before started_at",
            index=index,
            field="ended_at",
            code="ended_before_started",
        )


def _integer(raw: dict, field: str, index: int, *, minimum: int = 0) -> int:
    value = raw[field]
    if type(value) is not int:  # a bool is not a number here
        raise InvalidEvent("must be an integer", index=index, field=field)
    if not minimum <= value <= MAX_INT:
        raise InvalidEvent(
            f"must be between {minimum} and {MAX_INT}",
            index=index,
            field=field,
            code="number_out_of_range",
        )
    return value


def _version(raw: dict, index: int) -> str:
    value = raw["version"]
    if not isinstance(value, str) or not 0 < len(value) <= MAX_VERSION_LENGTH:
        raise InvalidEvent(
            f"a version string of at most {MAX_VERSION_LENGTH} characters",
            index=index,
            field="version",
        )
    if "\x00" in value:
        raise InvalidEvent("NUL characters are not allowed", index=index, field="version")
    return value


class OutOfRange:
    """A timestamp the gRPC door read that no datetime holds (a ``Timestamp`` past
    9999-12-31): ``parse_event`` refuses it in its turn, after the event's earlier checks and
    those of the events before it, as it refuses a string no datetime holds at REST."""


def _timestamp(raw: dict, field: str, index: int) -> datetime:
    value = raw[field]
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # the gRPC door's timestamps, already UTC (JSON cannot hold a datetime)
    if type(value) is OutOfRange:
        raise InvalidEvent("a timestamp out of range", index=index, field=field)
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidEvent("an ISO 8601 timestamp with its UTC offset", index=index, field=field)
    try:
        moment = datetime.fromisoformat(value)
        utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidEvent(
            "an ISO 8601 timestamp with its UTC offset", index=index, field=field
        ) from None
    if moment.tzinfo is None:
        raise InvalidEvent("the timestamp needs a UTC offset (Z)", index=index, field=field)
    return utc
