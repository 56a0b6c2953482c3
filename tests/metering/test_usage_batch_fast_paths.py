"""The compiled paths of both doors (msgspec for REST bodies, the messages read directly over
gRPC) accept exactly what ``parse_batch`` accepts, with the same events (fingerprints
included), and hand every other batch to it, so refusals keep their codes."""

import json
from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.grpc_usage import _as_batch, _well_formed
from billing.grpc_usage import _utc as _utc_of_timestamp
from billing.usage_format import EventIn, _iso, _utc, decode_batch, parse_batch
from edgeplug.usage.v1 import usage_pb2 as pb

_START = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _fields(events: list[EventIn]) -> list[tuple]:
    return [tuple(getattr(event, name) for name in EventIn.__slots__) for event in events]


def _good(seq: int, kind: str = "session", **extra) -> dict:
    start = _START + timedelta(seconds=2 * seq)
    event = {"seq": seq, "kind": kind, "agent": 7, "version": "1.0.0"}
    if kind == "heartbeat":
        event["at"] = start.isoformat()
    else:
        event["started_at"] = start.isoformat()
        event["ended_at"] = (start + timedelta(seconds=1)).isoformat()
    return {**event, **extra}


def test_a_well_formed_rest_batch_is_decoded_by_the_fast_path_as_parse_batch_reads_it():
    events = [
        _good(1),
        _good(2, inferences=5, peak_arena_bytes=2048),
        _good(3, "inferences", inferences=12),
        _good(4, "heartbeat", peak_arena_bytes=1),
        _good(5, started_at="2026-11-29T12:00:00.250+02:00", ended_at="2026-11-29T10:00:01Z"),
        _good(6, version='v"\\é'),
    ]
    body = json.dumps({"events": events}).encode()
    fast = decode_batch(body)
    assert fast is not None
    assert _fields(fast) == _fields(parse_batch(json.loads(body)))


def test_a_batch_of_a_thousand_sessions_takes_the_fast_path():
    body = json.dumps({"events": [_good(seq) for seq in range(1, 1001)]}).encode()
    assert len(decode_batch(body)) == 1000


_INTEGERS = st.one_of(
    st.integers(min_value=-2, max_value=3),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 1),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
)
_STAMPS = st.one_of(
    st.sampled_from(
        [
            "2026-11-29T10:00:00+00:00",
            "2026-11-29T10:00:05Z",
            "2026-11-29T09:59:59.999999+00:00",
            "2026-11-29T12:00:00+02:00",
            "2026-11-29T10:00:00",
            "2026-11-29 10:00:01+00:00",
            "20261129T100002Z",
            "0001-01-01T00:00:00+01:00",
            "2026-11-29T10:00:00.1234567890123456789012345+00:00",
            "not a time",
        ]
    ),
    st.text(max_size=45),
    st.integers(),
)
_EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "seq": _INTEGERS,
        "kind": st.sampled_from(["session", "inferences", "heartbeat", "Session", ""]),
        "agent": _INTEGERS,
        "version": st.one_of(
            st.text(max_size=66), st.sampled_from(["1.0.0", "a\x00b", "é" * 64]), _INTEGERS
        ),
        "started_at": _STAMPS,
        "ended_at": _STAMPS,
        "at": _STAMPS,
        "inferences": _INTEGERS,
        "peak_arena_bytes": _INTEGERS,
        "extra": _INTEGERS,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_EVENTS, st.integers(1, 50).map(_good)), max_size=4),
    st.booleans(),
)
def test_the_rest_fast_path_accepts_only_what_parse_batch_accepts_and_reads_it_alike(
    events, extra_key
):
    data = {"events": events, **({"more": 1} if extra_key else {})}
    body = json.dumps(data).encode()
    fast = decode_batch(body)
    if fast is not None:
        assert _fields(fast) == _fields(parse_batch(json.loads(body)))


_ISO_LIKE = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(-timedelta(0))]),
    ).map(datetime.isoformat),
    st.text(alphabet="0123456789-+:.TWZ ", min_size=20, max_size=27),
    st.sampled_from(
        [
            "2026-11-29T10:00:00+00:00",
            "2026-11-29T10:00:00-00:00",
            "2026-11-29 10:00:00+00:00",
            "2026-W48-1T10:00:00+00:00",
            "2026-333T10:00:00.0+00:00",
            "20261129T100000.000+00:00",
            "2026-11-29T10:00:00.1+00:00",
            "2026-11-29T10:00:00Z",
        ]
    ),
)


@settings(max_examples=1000)
@given(_ISO_LIKE)
def test_a_timestamp_string_is_reused_only_where_isoformat_writes_it_again(value):
    """The fast path keeps a device's timestamp string instead of formatting the datetime it
    reads; the stored ISO strings and fingerprints must be those ``isoformat`` makes."""
    moment = _utc(value)
    if moment is not None:
        assert _iso(value, moment) == moment.isoformat()


def _stamp(seconds: int, nanos: int) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


_PROTO_STAMPS = st.builds(
    _stamp,
    st.one_of(
        st.integers(1_764_000_000, 1_764_000_010), st.integers(-62_135_596_801, 253_402_300_800)
    ),
    st.one_of(st.just(0), st.integers(0, 1_000_000_000)),
)


@settings(max_examples=500)
@given(_PROTO_STAMPS)
def test_a_grpc_timestamp_is_read_as_protobuf_reads_it(stamp):
    moment = _utc_of_timestamp(stamp)
    if moment is not None:
        assert moment == stamp.ToDatetime(tzinfo=UTC)
        assert moment.tzinfo is UTC and moment.isoformat() == stamp.ToDatetime(UTC).isoformat()


_MESSAGES = st.builds(
    lambda seq, kind, agent, version, stamps, counts: pb.UsageEvent(
        seq=seq, kind=kind, agent=agent, version=version, **stamps, **counts
    ),
    st.one_of(st.integers(0, 3), st.integers(2**63 - 2, 2**64 - 1)),
    st.sampled_from([pb.KIND_SESSION, pb.KIND_INFERENCES, pb.KIND_HEARTBEAT, 0, 9]),
    st.one_of(st.integers(-1, 2), st.integers(2**63 - 2, 2**63 - 1)),
    st.one_of(st.text(max_size=66), st.sampled_from(["1.0.0", "a\x00b"])),
    st.fixed_dictionaries({}, optional={"started_at": _PROTO_STAMPS, "ended_at": _PROTO_STAMPS}),
    st.fixed_dictionaries(
        {},
        optional={
            "at": _PROTO_STAMPS,
            "inferences": st.integers(0, 2**64 - 1),
            "peak_arena_bytes": st.integers(0, 2**64 - 1),
        },
    ),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MESSAGES, max_size=4))
def test_the_grpc_fast_path_accepts_only_what_parse_batch_accepts_and_reads_it_alike(messages):
    request = pb.ReportBatchRequest(events=messages)
    fast = _well_formed(request.events)
    if fast is not None:
        assert _fields(fast) == _fields(parse_batch(_as_batch(request)))


def test_a_well_formed_grpc_batch_takes_the_fast_path():
    session = pb.UsageEvent(
        seq=1,
        kind=pb.KIND_SESSION,
        agent=7,
        version="1.0.0",
        started_at=_stamp(1_764_000_000, 5_000),
        ended_at=_stamp(1_764_000_001, 0),
        inferences=3,
    )
    heartbeat = pb.UsageEvent(
        seq=2, kind=pb.KIND_HEARTBEAT, agent=7, version="1.0.0", at=_stamp(1_764_000_002, 0)
    )
    request = pb.ReportBatchRequest(events=[session, heartbeat])
    fast = _well_formed(request.events)
    assert fast is not None
    assert _fields(fast) == _fields(parse_batch(_as_batch(request)))


@given(
    st.sampled_from(
        [
            _good(1),
            _good(2, inferences=5, peak_arena_bytes=2048),
            _good(3, "inferences", inferences=12),
            _good(4, "heartbeat", peak_arena_bytes=1),
            _good(5, version='v"\\é:'),
        ]
    ),
    st.data(),
)
def test_a_key_named_twice_is_never_read_by_the_fast_path(event, data):
    """msgspec keeps the last of a repeated key, where the JSON parser refuses it
    (duplicate_json_key): any key of any kind repeated, with its value or another, the fast
    path hands the body on, also where escapes hold quotes."""
    key = data.draw(st.sampled_from(sorted(event)))
    value = data.draw(st.sampled_from([event[key], "x:y", 1, None]))
    repeated = json.dumps(event)[:-1] + f", {json.dumps(key)}: {json.dumps(value)}}}"
    body = ('{"events": [' + json.dumps(_good(9)) + ", " + repeated + "]}").encode()
    assert decode_batch(body) is None
    assert decode_batch(body.replace(repeated.encode(), json.dumps(event).encode())) is not None
