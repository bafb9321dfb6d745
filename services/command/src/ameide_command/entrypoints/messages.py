"""Validation of a composed message (ChatMessageInput): role, parts, attachments and size limits."""

from __future__ import annotations

from ameide_command.domain.model import ROLES
from ameide_command.entrypoints.validation import MAX_NAME_CHARS, Checker
from ameide_core_proto.threads.v1 import threads_types_pb2 as types

MAX_URL_CHARS = 8192


def check_message(checker: Checker, field: str, present: bool, message: types.ChatMessageInput) -> None:
    """Record every violation of ``message`` (a required field)."""
    if not present:
        checker.fail(field, "required")
        return
    if not message.role:
        checker.fail(f"{field}.role", "required")
    elif message.role not in ROLES:
        checker.fail(f"{field}.role", "must be user, assistant or system")
    limits = checker.limits
    if not message.parts and not message.attachments:
        checker.fail(f"{field}.parts", "a message needs at least one part or attachment")
    if len(message.parts) > limits.max_parts:
        checker.fail(f"{field}.parts", f"at most {limits.max_parts} parts")
    for index, part in enumerate(message.parts):
        _check_part(checker, f"{field}.parts[{index}]", part)
    if len(message.attachments) > limits.max_parts:
        checker.fail(f"{field}.attachments", f"at most {limits.max_parts} attachments")
    for index, attachment in enumerate(message.attachments):
        _check_attachment(checker, f"{field}.attachments[{index}]", attachment)
    checker.uuid(f"{field}.artifact_id", message.artifact_id, required=False)
    if message.ByteSize() > limits.max_message_bytes:
        checker.fail(field, f"must be at most {limits.max_message_bytes} bytes")


def _check_part(checker: Checker, field: str, part: types.MessagePart) -> None:
    kind = part.WhichOneof("kind")
    limit = checker.limits.max_text_part_bytes
    if kind is None:
        checker.fail(field, "must be a text, image, code or structured part")
    elif kind == "text":
        if len(part.text.text.encode()) > limit:
            checker.fail(f"{field}.text.text", f"must be at most {limit} bytes")
    elif kind == "code":
        if len(part.code.content.encode()) > limit:
            checker.fail(f"{field}.code.content", f"must be at most {limit} bytes")
        checker.text(f"{field}.code.language", part.code.language, MAX_NAME_CHARS)
    elif kind == "image":
        if not part.image.url and not part.image.data:
            checker.fail(f"{field}.image", "url or data is required")
        checker.text(f"{field}.image.url", part.image.url, MAX_URL_CHARS)
        checker.text(f"{field}.image.mime_type", part.image.mime_type, MAX_NAME_CHARS)
    else:
        checker.text(f"{field}.structured.type", part.structured.type, MAX_NAME_CHARS, required=True)
        if len(part.structured.json.encode()) > limit:
            checker.fail(f"{field}.structured.json", f"must be at most {limit} bytes")


def _check_attachment(checker: Checker, field: str, attachment: types.Attachment) -> None:
    if not attachment.uri and not attachment.id:
        checker.fail(field, "uri or id is required")
    if attachment.size_bytes < 0:
        checker.fail(f"{field}.size_bytes", "must not be negative")
    checker.text(f"{field}.uri", attachment.uri, MAX_URL_CHARS)
    checker.text(f"{field}.name", attachment.name, 1024)
    checker.text(f"{field}.mime_type", attachment.mime_type, MAX_NAME_CHARS)
