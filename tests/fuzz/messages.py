"""Hypothesis strategies for any protobuf message, built from its descriptor, and for the
bytes a broken or newer producer might send.

Values cover each field's whole wire range (enum numbers no build knows, timestamps no
calendar holds, text in every script, control characters), not only what our producers
write: a consumer must survive what any producer can put on a topic.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from tests.events import unknown_field

F = FieldDescriptor
MAX_DEPTH = 4

_INTS: dict[int, st.SearchStrategy[int]] = {
    F.CPPTYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    F.CPPTYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    F.CPPTYPE_UINT32: st.integers(0, 2**32 - 1),
    F.CPPTYPE_UINT64: st.integers(0, 2**64 - 1),
}

text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "fee", "GB-ENG", "en", "crm", "\r\n", "\x00", "é" * 3]),
    # Long values (past every length limit) built cheaply from a short random piece.
    st.builds(
        lambda piece, times: piece * times, st.text(min_size=1, max_size=8), st.integers(20, 400)
    ),
)


def _timestamp_fields() -> st.SearchStrategy[dict[str, int]]:
    plausible = st.integers(1_500_000_000, 2_000_000_000)  # 2017..2033
    anything = st.integers(-(2**63), 2**63 - 1)
    return st.fixed_dictionaries(
        {
            "seconds": st.one_of(plausible, plausible, anything),
            "nanos": st.one_of(st.just(0), st.integers(0, 999_999_999), _INTS[F.CPPTYPE_INT32]),
        }
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.cpp_type in _INTS:
        return _INTS[field.cpp_type]
    if field.cpp_type == F.CPPTYPE_BOOL:
        return st.booleans()
    if field.cpp_type in (F.CPPTYPE_DOUBLE, F.CPPTYPE_FLOAT):
        return st.floats(allow_nan=True, width=64 if field.cpp_type == F.CPPTYPE_DOUBLE else 32)
    if field.cpp_type == F.CPPTYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=64)
    return text


@st.composite
def message_of(draw: st.DrawFn, descriptor: Descriptor, depth: int = 0) -> Message:
    """A message of ``descriptor``'s type with a random subset of its fields set."""
    message = GetMessageClass(descriptor)()
    if descriptor.full_name == "google.protobuf.Timestamp":
        for name, value in draw(_timestamp_fields()).items():
            setattr(message, name, value)
        return message
    chosen_in_oneof = {
        oneof.name: draw(st.sampled_from([None, *oneof.fields])) for oneof in descriptor.oneofs
    }
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and chosen_in_oneof[oneof.name] is not field:
            continue
        if oneof is None and not draw(st.booleans()):
            continue
        _fill(draw, message, field, depth)
    return message


def _fill(draw: st.DrawFn, message: Message, field: FieldDescriptor, depth: int) -> None:
    target = getattr(message, field.name)
    is_message = field.cpp_type == F.CPPTYPE_MESSAGE
    if is_message and field.message_type.GetOptions().map_entry:
        key, value = (
            field.message_type.fields_by_name["key"],
            field.message_type.fields_by_name["value"],
        )
        size = draw(st.sampled_from([4, 4, 4, 40]))  # now and then past a limit on entries
        entries = draw(st.dictionaries(_scalar(key), _scalar(value), max_size=size))
        target.update(entries)
        return
    if field.is_repeated:
        if is_message:
            if depth < MAX_DEPTH:
                for item in draw(st.lists(message_of(field.message_type, depth + 1), max_size=3)):
                    target.add().CopyFrom(item)
        else:
            target.extend(draw(st.lists(_scalar(field), max_size=3)))
        return
    if is_message:
        if depth < MAX_DEPTH:
            target.CopyFrom(draw(message_of(field.message_type, depth + 1)))
        return
    setattr(message, field.name, draw(_scalar(field)))


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` broken the ways a wire breaks: truncated, bytes flipped, junk appended,
    fields a newer schema added, or a deep nest of groups."""
    how = draw(st.sampled_from(["truncate", "flip", "append", "newer", "nest", "random"]))
    if how == "truncate" and valid:
        return valid[: draw(st.integers(0, len(valid) - 1))]
    if how == "flip" and valid:
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "newer":
        number = draw(st.integers(100, 536_870_911))
        return valid + unknown_field(number, draw(st.binary(max_size=16)))
    if how == "nest":
        depth = draw(st.integers(1, 500))
        return valid + b"\x5b" * depth + b"\x5c" * depth  # field 11, start/end group
    if how == "append":
        return valid + draw(st.binary(min_size=1, max_size=32))
    return draw(st.binary(max_size=256))
