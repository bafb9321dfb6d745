import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_query import wire

pytestmark = pytest.mark.unit


def _message(n: int, text: str) -> types.ChatMessage:
    part = types.MessagePart(text=types.TextPart(text=text))
    return types.ChatMessage(id=f"m{n}", threads_id="c", role="user", sequence=n, parts=[part])


class TestWire:
    @pytest.mark.parametrize(("value", "encoded"), [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"),
                                                    (300, b"\xac\x02"), (2**21, b"\x80\x80\x80\x01")])  # fmt: skip
    def test_varint(self, value: int, encoded: bytes) -> None:
        """Base-128, least significant group first, high bit set on every byte but the last."""
        assert encoded == wire.varint(value)

    def test_spliced_elements_decode_as_the_message_built_field_by_field(self) -> None:
        """The reply's own fields encoded by protobuf, then the stored messages framed: the same message."""
        stored = [_message(1, "short"), _message(2, "x" * 300), _message(3, "é" * 70)]
        built = svc.GetMessagesResponse(messages=stored, has_more=True, total_count=3, checkpoint_token="t")
        head = svc.GetMessagesResponse(has_more=True, total_count=3, checkpoint_token="t")
        spliced = head.SerializeToString() + wire.repeated(1, [m.SerializeToString() for m in stored])
        assert built == svc.GetMessagesResponse.FromString(spliced)

    def test_no_elements_add_nothing(self) -> None:
        """An empty page is the reply's own fields alone."""
        assert b"" == wire.repeated(1, [])
