import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    KIND_SESSION: _ClassVar[Kind]
    KIND_INFERENCES: _ClassVar[Kind]
    KIND_HEARTBEAT: _ClassVar[Kind]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_ACCEPTED: _ClassVar[Outcome]
    OUTCOME_DUPLICATE: _ClassVar[Outcome]
    OUTCOME_REJECTED: _ClassVar[Outcome]
KIND_UNSPECIFIED: Kind
KIND_SESSION: Kind
KIND_INFERENCES: Kind
KIND_HEARTBEAT: Kind
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_ACCEPTED: Outcome
OUTCOME_DUPLICATE: Outcome
OUTCOME_REJECTED: Outcome

class UsageEvent(_message.Message):
    __slots__ = ("seq", "kind", "agent", "version", "started_at", "ended_at", "at", "inferences", "peak_arena_bytes")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    INFERENCES_FIELD_NUMBER: _ClassVar[int]
    PEAK_ARENA_BYTES_FIELD_NUMBER: _ClassVar[int]
    seq: int
    kind: Kind
    agent: int
    version: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    at: _timestamp_pb2.Timestamp
    inferences: int
    peak_arena_bytes: int
    def __init__(self, seq: _Optional[int] = ..., kind: _Optional[_Union[Kind, str]] = ..., agent: _Optional[int] = ..., version: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., inferences: _Optional[int] = ..., peak_arena_bytes: _Optional[int] = ...) -> None: ...

class ReportBatchRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[UsageEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[UsageEvent, _Mapping]]] = ...) -> None: ...

class EventOutcome(_message.Message):
    __slots__ = ("seq", "outcome", "code")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    outcome: Outcome
    code: str
    def __init__(self, seq: _Optional[int] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., code: _Optional[str] = ...) -> None: ...

class Totals(_message.Message):
    __slots__ = ("accepted", "duplicate", "rejected")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicate: int
    rejected: int
    def __init__(self, accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., rejected: _Optional[int] = ...) -> None: ...

class ReportBatchResponse(_message.Message):
    __slots__ = ("results", "totals")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EventOutcome]
    totals: Totals
    def __init__(self, results: _Optional[_Iterable[_Union[EventOutcome, _Mapping]]] = ..., totals: _Optional[_Union[Totals, _Mapping]] = ...) -> None: ...

class ReportSummary(_message.Message):
    __slots__ = ("totals", "rejected")
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    totals: Totals
    rejected: _containers.RepeatedCompositeFieldContainer[EventOutcome]
    def __init__(self, totals: _Optional[_Union[Totals, _Mapping]] = ..., rejected: _Optional[_Iterable[_Union[EventOutcome, _Mapping]]] = ...) -> None: ...
