"""Times as the read model stores and sends them: aware datetimes, microseconds since 1970, protobuf Timestamps.

Arithmetic on one epoch instead of ``Timestamp.FromDatetime`` / ``datetime.timestamp``: these run per row and per
feed entry, and stay exact (no float seconds).
"""

from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_MICROS_PER_SECOND = 1_000_000


def to_micros(value: dt.datetime) -> int:
    """Microseconds since 1970 of an aware datetime."""
    return (value - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> dt.datetime:
    """The UTC datetime ``micros`` microseconds after 1970."""
    return EPOCH + dt.timedelta(microseconds=micros)


def of_timestamp(value: Timestamp) -> dt.datetime:
    """The UTC datetime of a protobuf timestamp (to the microsecond)."""
    return EPOCH + dt.timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def timestamp(value: dt.datetime) -> Timestamp:
    """A protobuf timestamp of an aware datetime."""
    delta = value - EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def stamp(target: Timestamp, value: dt.datetime) -> None:
    """Set a timestamp field in place to an aware datetime."""
    delta = value - EPOCH
    target.seconds = delta.days * 86_400 + delta.seconds
    target.nanos = delta.microseconds * 1000


def stamp_micros(target: Timestamp, micros: int) -> None:
    """Set a timestamp field in place to microseconds since 1970."""
    seconds, rest = divmod(micros, _MICROS_PER_SECOND)
    target.seconds = seconds
    target.nanos = rest * 1000
