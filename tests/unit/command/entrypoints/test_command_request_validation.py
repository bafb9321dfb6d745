from __future__ import annotations

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from ameide_command.entrypoints import artifact_requests, chat_requests
from ameide_command.entrypoints.validation import Limits
from ameide_core_proto.artifacts.v1 import artifacts_service_pb2 as art_svc
from ameide_core_proto.artifacts.v1 import artifacts_types_pb2 as art_types
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc
from ameide_core_proto.threads.v1 import threads_types_pb2 as types
from ameide_runtime.errors import InvalidArgument
from tests.unit.command.command_builders import ARTIFACT_ID, CHAT_ID, text_message

pytestmark = pytest.mark.unit

LIMITS = Limits(max_title_chars=10, max_parts=2, max_text_part_bytes=8, max_message_bytes=200, max_artifact_bytes=4)


def violations(parse: object, request: object) -> list[str]:
    """The violated field paths, in order."""
    with pytest.raises(InvalidArgument) as caught:
        parse(request, LIMITS)  # type: ignore[operator]
    return [violation.field for violation in caught.value.violations]


def text_part(text: str) -> types.MessagePart:
    """A text part."""
    return types.MessagePart(text=types.TextPart(text=text))


class TestEnsureRequest:
    def test_valid_request_is_parsed_with_canonical_ids(self) -> None:
        """Upper-case UUIDs are accepted and lower-cased; UNSPECIFIED visibility stays unspecified."""
        request = svc.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=ARTIFACT_ID.upper(), message=text_message(), idempotency_key="k"
        )
        command = chat_requests.ensure_chat(request, LIMITS)
        assert (command.artifact_id, command.chat_id, command.visibility) == (ARTIFACT_ID, "", 0)

    def test_every_violation_is_reported_at_once(self) -> None:
        """Bad ids, missing message and key, unknown enum value: one INVALID_ARGUMENT naming them all."""
        request = svc.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id="nope", threads_id="x", visibility=types.ChatVisibility.ValueType(9)
        )
        assert violations(chat_requests.ensure_chat, request) == [
            "artifact_id",
            "threads_id",
            "message",
            "idempotency_key",
            "visibility",
        ]

    def test_message_artifact_must_match(self) -> None:
        """The message's own artifact reference may not contradict the request's."""
        message = text_message()
        message.artifact_id = CHAT_ID
        request = svc.EnsureChatForArtifactAndSendMessageRequest(
            artifact_id=ARTIFACT_ID, message=message, idempotency_key="k"
        )
        assert violations(chat_requests.ensure_chat, request) == ["message.artifact_id"]


class TestMessageLimits:
    @pytest.mark.parametrize(
        ("message", "fields"),
        [
            (types.ChatMessageInput(parts=[text_part("a")]), ["message.role"]),
            (types.ChatMessageInput(role="robot", parts=[text_part("a")]), ["message.role"]),
            (types.ChatMessageInput(role="user"), ["message.parts"]),
            (types.ChatMessageInput(role="user", parts=[text_part("a")] * 3), ["message.parts"]),
            (types.ChatMessageInput(role="user", parts=[text_part("123456789")]), ["message.parts[0].text.text"]),
            (types.ChatMessageInput(role="user", parts=[types.MessagePart()]), ["message.parts[0]"]),
            (
                types.ChatMessageInput(role="user", parts=[types.MessagePart(image=types.ImagePart())]),
                ["message.parts[0].image"],
            ),
            (
                types.ChatMessageInput(
                    role="user", parts=[types.MessagePart(structured=types.StructuredPart(json="{}"))]
                ),
                ["message.parts[0].structured.type"],
            ),
            (
                types.ChatMessageInput(role="user", attachments=[types.Attachment(size_bytes=-1)]),
                ["message.attachments[0]", "message.attachments[0].size_bytes"],
            ),
            (
                types.ChatMessageInput(role="user", parts=[text_part("a")], artifact_id="bad"),
                ["message.artifact_id"],
            ),
            (
                types.ChatMessageInput(role="user", parts=[types.MessagePart(image=types.ImagePart(data=b"x" * 300))]),
                ["message"],
            ),
        ],
        ids=[
            "no-role",
            "unknown-role",
            "empty",
            "too-many-parts",
            "text-too-long",
            "empty-part",
            "image-without-source",
            "structured-without-type",
            "bad-attachment",
            "bad-artifact-id",
            "message-too-big",
        ],
    )
    def test_limits(self, message: types.ChatMessageInput, fields: list[str]) -> None:
        """Role, part count, part size, part kinds, attachments and total size are all checked."""
        request = svc.SendMessageRequest(threads_id=CHAT_ID, message=message)
        assert violations(chat_requests.send_message, request) == fields

    def test_multi_byte_text_counts_bytes(self) -> None:
        """The text part limit is in UTF-8 bytes, not characters."""
        request = svc.SendMessageRequest(threads_id=CHAT_ID, message=types.ChatMessageInput(role="user"))
        request.message.parts.append(text_part("ééééé"))  # 10 bytes, 5 characters
        assert violations(chat_requests.send_message, request) == ["message.parts[0].text.text"]


class TestChatRequests:
    def test_create_chat(self) -> None:
        """Title length, visibility values, artifact id, labels and key length are validated."""
        request = svc.CreateChatRequest(
            title="x" * 11,
            visibility=types.ChatVisibility.ValueType(7),
            artifact_id="1",
            metadata=types.ChatMetadata(labels={"": "v"}, tags=[""]),
            idempotency_key="k" * 129,
        )
        assert violations(chat_requests.create_chat, request) == [
            "title",
            "visibility",
            "artifact_id",
            "metadata.labels['']",
            "metadata.tags[0]",
            "idempotency_key",
        ]

    def test_create_chat_without_title_is_valid(self) -> None:
        """A chat may be created untitled and renamed later."""
        assert chat_requests.create_chat(svc.CreateChatRequest(), LIMITS).title == ""

    def test_title_required_for_rename(self) -> None:
        """Renaming needs a chat id and a non-blank title."""
        assert violations(chat_requests.update_title, svc.UpdateChatTitleRequest(title="  ")) == ["threads_id", "title"]

    def test_visibility_update_rejects_unspecified(self) -> None:
        """UNSPECIFIED is not a visibility to change to."""
        request = svc.UpdateChatVisibilityRequest(threads_id=CHAT_ID)
        assert violations(chat_requests.update_visibility, request) == ["visibility"]

    def test_associate_and_delete(self) -> None:
        """Ids are required; relation types must be known."""
        request = svc.AssociateChatArtifactRequest(threads_id=CHAT_ID, relation_type=types.RelationType.ValueType(4))
        assert violations(chat_requests.associate_artifact, request) == ["artifact_id", "relation_type"]
        assert violations(chat_requests.delete_chat, svc.DeleteChatRequest()) == ["threads_id"]


class TestArtifactRequests:
    def test_create_artifact(self) -> None:
        """Title and kind are required; body, labels and the primary chat are validated."""
        request = art_svc.CreateArtifactRequest(
            metadata={"primaryChatId": "zz"}, content=art_types.ArtifactContent(body=b"12345")
        )
        assert violations(artifact_requests.create_artifact, request) == [
            "title",
            "kind",
            "metadata['primaryChatId']",
            "content.body",
        ]

    def test_primary_chat_from_label(self) -> None:
        """The spec's `metadata: { primaryChatId }` names the creating chat."""
        request = art_svc.CreateArtifactRequest(title="T", kind="bpmn", metadata={"primaryChatId": CHAT_ID})
        assert artifact_requests.create_artifact(request, LIMITS).primary_chat_id == CHAT_ID

    def test_conflicting_primary_chats(self) -> None:
        """The field and the label may not name different chats."""
        request = art_svc.CreateArtifactRequest(
            title="T", kind="k", primary_threads_id=ARTIFACT_ID, metadata={"primaryChatId": CHAT_ID}
        )
        assert violations(artifact_requests.create_artifact, request) == ["primary_threads_id"]

    def test_update_content(self) -> None:
        """Content is required and expected_version must be positive when set."""
        request = art_svc.UpdateArtifactContentRequest(artifact_id=ARTIFACT_ID, expected_version=0, threads_id="x")
        assert violations(artifact_requests.update_content, request) == ["content", "expected_version", "threads_id"]

    def test_update_metadata_mask(self) -> None:
        """Unknown mask paths are rejected; a masked-in title must be present."""
        request = art_svc.UpdateArtifactMetadataRequest(
            artifact_id=ARTIFACT_ID, update_mask=FieldMask(paths=["title", "content"])
        )
        assert violations(artifact_requests.update_metadata, request) == [
            "update_mask.paths",
            "metadata",
            "metadata.title",
        ]

    def test_update_metadata_labels_only(self) -> None:
        """With mask "labels" the title is kept."""
        request = art_svc.UpdateArtifactMetadataRequest(
            artifact_id=ARTIFACT_ID,
            metadata=art_types.ArtifactMetadata(labels={"a": "b"}),
            update_mask=FieldMask(paths=["labels"]),
        )
        command = artifact_requests.update_metadata(request, LIMITS)
        assert (command.title, command.labels) == (None, {"a": "b"})

    def test_link_requests(self) -> None:
        """Both ids are required for associating and dissociating."""
        assert violations(artifact_requests.associate_chat, art_svc.AssociateArtifactChatRequest()) == [
            "artifact_id",
            "threads_id",
        ]
        assert violations(artifact_requests.dissociate_chat, art_svc.DissociateArtifactChatRequest()) == [
            "artifact_id",
            "threads_id",
        ]
        assert violations(artifact_requests.delete_artifact, art_svc.DeleteArtifactRequest()) == ["artifact_id"]
