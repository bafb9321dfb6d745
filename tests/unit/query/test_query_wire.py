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


def _dressed(n: int, size: int) -> types.ChatMessage:
    """A message with every kind of part and an attachment, padded to about ``size`` encoded bytes."""
    message = types.ChatMessage(
        id=f"m{n}",
        threads_id="c",
        role="assistant",
        tenant_id="t",
        user_id="ü",
        sequence=n,
        idempotency_key="k",
        parts=[
            types.MessagePart(text=types.TextPart(text="héllo 🚀")),
            types.MessagePart(image=types.ImagePart(data=b"\x00\xff", mime_type="image/png")),
            types.MessagePart(code=types.CodePart(language="sql", content="SELECT 1")),
            types.MessagePart(structured=types.StructuredPart(type="reasoning", json='{"a": [1]}')),
        ],
        attachments=[
            types.Attachment(id="a", name="ñ.pdf", mime_type="application/pdf", uri="s3://b/k", size_bytes=-1)
        ],
    )
    message.created_at.FromSeconds(1_700_000_000 + n)
    padding = size - message.ByteSize() - 4
    if padding > 0:
        message.parts.add(text=types.TextPart(text="x" * padding))
    return message


class TestSplicedPages:
    # Element sizes around each varint length boundary (1, 2 and 3 length bytes), and an empty element.
    @pytest.mark.parametrize("sizes", [[], [0], [127, 128, 129], [16_383, 16_384, 16_385], [300, 70_000, 5]])
    def test_every_element_size_decodes_as_the_message_object_reply(self, sizes: list[int]) -> None:
        """Spliced pages of dressed messages (unicode, every part kind, attachments) equal the object-built reply."""
        stored = [types.ChatMessage() if size == 0 else _dressed(n, size) for n, size in enumerate(sizes, 1)]
        fields = {"has_more": bool(sizes), "total_count": 9, "checkpoint_token": "c", "next_page_token": "p" * 200}
        built = svc.GetMessagesResponse(messages=stored, **fields)  # type: ignore[arg-type]
        spliced = svc.GetMessagesResponse(**fields).SerializeToString() + wire.repeated(  # type: ignore[arg-type]
            1, [m.SerializeToString() for m in stored]
        )
        decoded = svc.GetMessagesResponse.FromString(spliced)
        assert decoded == built
        assert decoded.SerializeToString(deterministic=True) == built.SerializeToString(deterministic=True)

    def test_remembered_heads_are_per_field_and_size(self) -> None:
        """Heads remembered for one field number never frame another's; each record is tag, length, element."""
        payloads = [b"a" * 200, b"b" * 20_000, b"c" * 200, b""]
        for field in (1, 7, 1):
            expected = b"".join(wire.varint(field << 3 | 2) + wire.varint(len(p)) + p for p in payloads)
            assert wire.repeated(field, payloads) == expected
