"""ChatCommandService requests -> validated domain commands (every violation reported at once)."""

from __future__ import annotations

from ameide_command.domain.commands import (
    ChangeVisibility,
    DeleteChat,
    EnsureChatForArtifact,
    LinkChatArtifact,
    RenameChat,
    SendMessage,
    StartChat,
)
from ameide_command.entrypoints.messages import check_message
from ameide_command.entrypoints.validation import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_KEY_CHARS,
    MAX_NAME_CHARS,
    Checker,
    Limits,
)
from ameide_core_proto.threads.v1 import threads_service_pb2 as svc


def ensure_chat(request: svc.EnsureChatForArtifactAndSendMessageRequest, limits: Limits) -> EnsureChatForArtifact:
    """Parse EnsureChatForArtifactAndSendMessage (the idempotency key is required)."""
    check = Checker(limits)
    artifact_id = check.uuid("artifact_id", request.artifact_id)
    chat_id = check.uuid("threads_id", request.threads_id, required=False)
    check_message(check, "message", request.HasField("message"), request.message)
    given = request.message.artifact_id.lower()
    if given and artifact_id and given != artifact_id:
        check.fail("message.artifact_id", "must be empty or equal to artifact_id")
    check.idempotency_key("idempotency_key", request.idempotency_key, required=True)
    visibility = check.visibility("visibility", request.visibility, allow_unspecified=True)
    check.done()
    return EnsureChatForArtifact(
        artifact_id=artifact_id, chat_id=chat_id, message=request.message, visibility=visibility
    )


def create_chat(request: svc.CreateChatRequest, limits: Limits) -> StartChat:
    """Parse CreateChat."""
    check = Checker(limits)
    title = check.title("title", request.title, required=False)
    visibility = check.visibility("visibility", request.visibility, allow_unspecified=True)
    artifact_id = check.uuid("artifact_id", request.artifact_id, required=False)
    labels = check.labels("metadata.labels", request.metadata.labels)
    description = check.text("metadata.description", request.metadata.description, MAX_DESCRIPTION_CHARS)
    if len(request.metadata.tags) > limits.max_labels:
        check.fail("metadata.tags", f"at most {limits.max_labels} tags")
    for index, tag in enumerate(request.metadata.tags):
        check.text(f"metadata.tags[{index}]", tag, MAX_LABEL_KEY_CHARS, required=True)
    agent_id = check.text("agent_id", request.agent_id, MAX_NAME_CHARS)
    check.idempotency_key("idempotency_key", request.idempotency_key)
    check.done()
    return StartChat(
        title=title,
        visibility=visibility,
        agent_id=agent_id,
        labels=labels,
        description=description,
        tags=tuple(request.metadata.tags),
        artifact_id=artifact_id,
    )


def send_message(request: svc.SendMessageRequest, limits: Limits) -> SendMessage:
    """Parse SendMessage."""
    check = Checker(limits)
    chat_id = check.uuid("threads_id", request.threads_id)
    check_message(check, "message", request.HasField("message"), request.message)
    check.idempotency_key("idempotency_key", request.idempotency_key)
    check.done()
    return SendMessage(chat_id=chat_id, message=request.message)


def update_title(request: svc.UpdateChatTitleRequest, limits: Limits) -> RenameChat:
    """Parse UpdateChatTitle (a title is required)."""
    check = Checker(limits)
    chat_id = check.uuid("threads_id", request.threads_id)
    title = check.title("title", request.title)
    check.done()
    return RenameChat(chat_id=chat_id, title=title)


def delete_chat(request: svc.DeleteChatRequest, limits: Limits) -> DeleteChat:
    """Parse DeleteChat."""
    check = Checker(limits)
    chat_id = check.uuid("threads_id", request.threads_id)
    check.done()
    return DeleteChat(chat_id=chat_id)


def associate_artifact(request: svc.AssociateChatArtifactRequest, limits: Limits) -> LinkChatArtifact:
    """Parse AssociateArtifact."""
    check = Checker(limits)
    chat_id = check.uuid("threads_id", request.threads_id)
    artifact_id = check.uuid("artifact_id", request.artifact_id)
    relation = check.relation("relation_type", request.relation_type)
    check.done()
    return LinkChatArtifact(chat_id=chat_id, artifact_id=artifact_id, relation=relation)


def update_visibility(request: svc.UpdateChatVisibilityRequest, limits: Limits) -> ChangeVisibility:
    """Parse UpdateVisibility (UNSPECIFIED is invalid here)."""
    check = Checker(limits)
    chat_id = check.uuid("threads_id", request.threads_id)
    visibility = check.visibility("visibility", request.visibility, allow_unspecified=False)
    check.done()
    return ChangeVisibility(chat_id=chat_id, visibility=visibility)
