"""The conversations written by ``legacy_data.build``: normal use first, then every malformed case once."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ameide_core_proto.threads.v1 import threads_types_pb2 as types_pb2
from tests.support.legacy_js import js_json, js_text

if TYPE_CHECKING:
    from tests.integration.legacy.legacy_data import Generator

CREATED = int(types_pb2.RELATION_TYPE_CREATED)
MODIFIED = int(types_pb2.RELATION_TYPE_MODIFIED)
REFERENCED = int(types_pb2.RELATION_TYPE_REFERENCED)
STRENGTH: dict[int, int] = {CREATED: 3, MODIFIED: 2, REFERENCED: 1}
KINDS = ("text", "code", "sheet", "image")


def _link(g: Generator, chat_id: uuid.UUID, document_id: uuid.UUID, relation: int) -> None:
    key = (chat_id, document_id)
    if STRENGTH[relation] > STRENGTH.get(g.expected.links.get(key, 0), 0):
        g.expected.links[key] = relation
    if relation == CREATED:
        g.expected.primary.setdefault(document_id, chat_id)


def _user_turn(g: Generator, chat_id: uuid.UUID) -> None:
    roll = g.rng.random()
    text = {"type": "text", "text": g.rng.choice(["Hello!", "Write me a poem", "Fix this code please", "¿Qué tal? 🌍"])}
    if roll < 0.15:
        # AI SDK 5 upload as the template's request schema sends it (with a file name).
        file_part = {"type": "file", "mediaType": "image/png", "name": "cat.png", "url": "https://blob.example/cat.png"}
        g.message(chat_id, "user", [file_part, text])
    elif roll < 0.25:
        g.message(
            chat_id, "user", [{"type": "file", "mediaType": "image/jpeg", "url": "https://blob.example/d.jpg"}, text]
        )
    elif roll < 0.35:
        attachment = {"name": "notes.pdf", "url": "https://blob.example/notes.pdf", "contentType": "application/pdf"}
        g.message(chat_id, "user", [text], attachments=[attachment])
    else:
        g.message(chat_id, "user", [text])


def _create_document(g: Generator, chat_id: uuid.UUID, owner: uuid.UUID, *, v4: bool = False) -> uuid.UUID:
    kind = g.rng.choice(KINDS)
    document_id = g.document(owner, kind, 1, title=f"{kind} for {chat_id.hex[:6]}")
    output = {"id": str(document_id), "title": f"{kind} doc", "kind": kind, "content": "A document was created."}
    if v4:
        invocation = {
            "state": "result",
            "toolCallId": "call_1",
            "toolName": "createDocument",
            "args": {"title": "doc", "kind": kind},
            "result": output,
        }
        parts: list[Any] = [{"type": "step-start"}, {"type": "tool-invocation", "toolInvocation": invocation}]
    else:
        parts = [
            {"type": "step-start"},
            {
                "type": "tool-createDocument",
                "toolCallId": "call_1",
                "state": "output-available",
                "input": {"title": "doc", "kind": kind},
                "output": output,
            },
        ]
    g.message(chat_id, "assistant", [*parts, {"type": "text", "text": "Done.", "state": "done"}])
    _link(g, chat_id, document_id, CREATED)
    return document_id


def _update_document(g: Generator, chat_id: uuid.UUID, owner: uuid.UUID, document_id: uuid.UUID) -> None:
    kind = g.expected.documents[document_id][0]["text"]
    g.document(owner, kind, 1, document_id=document_id, title=g.expected.documents[document_id][0]["title"])
    part = {
        "type": "tool-updateDocument",
        "toolCallId": "call_2",
        "state": "output-available",
        "input": {"id": str(document_id), "description": "shorter"},
        "output": {"id": str(document_id), "title": "t", "kind": kind, "content": "updated"},
    }
    g.message(chat_id, "assistant", [part])
    _link(g, chat_id, document_id, MODIFIED)


def _suggest(g: Generator, chat_id: uuid.UUID, owner: uuid.UUID, document_id: uuid.UUID) -> None:
    version_at = g.expected.documents[document_id][-1]["createdAt"]
    for index in range(g.rng.randint(1, 4)):
        suggestion_id = g.new_id()
        description = None if index == 0 else "Clearer wording"
        row = {
            "id": suggestion_id,
            "documentId": document_id,
            "documentCreatedAt": version_at,
            "originalText": "It is good.",
            "suggestedText": "It is excellent.",
            "description": description,
            "isResolved": g.rng.random() < 0.3,
            "userId": owner,
            "createdAt": g.tick(1),
        }
        g.insert("Suggestion", row)
        g.expected.suggestions[suggestion_id] = row
    part = {
        "type": "tool-requestSuggestions",
        "toolCallId": "call_3",
        "state": "output-available",
        "input": {"documentId": str(document_id)},
        "output": {"id": str(document_id), "title": "t", "kind": "text", "message": "Suggestions added"},
    }
    g.message(chat_id, "assistant", [part])
    _link(g, chat_id, document_id, REFERENCED)


def _assistant_turn(g: Generator, chat_id: uuid.UUID, owner: uuid.UUID, documents: list[uuid.UUID]) -> None:
    roll = g.rng.random()
    if roll < 0.2:
        documents.append(_create_document(g, chat_id, owner, v4=g.rng.random() < 0.3))
    elif roll < 0.3 and documents:
        _update_document(g, chat_id, owner, g.rng.choice(documents))
    elif roll < 0.36 and documents:
        _suggest(g, chat_id, owner, g.rng.choice(documents))
    elif roll < 0.5:
        reasoning = {
            "type": "reasoning",
            "text": "Thinking about it…",
            "providerMetadata": {"openai": {"itemId": "rs_1"}},
        }
        message_id = g.message(chat_id, "assistant", [reasoning, {"type": "text", "text": "Here you go."}])
        _vote(g, chat_id, message_id)
    elif roll < 0.6:
        weather = {
            "type": "tool-getWeather",
            "toolCallId": "w1",
            "state": "output-available",
            "input": {"latitude": 38.7, "longitude": -9.1},
            "output": {"temperature": 21.5},
        }
        g.message(chat_id, "assistant", [weather, {"type": "source-url", "sourceId": "s1", "url": "https://x.example"}])
    else:
        message_id = g.message(
            chat_id, "assistant", [{"type": "text", "text": "Sure — here is an answer.", "state": "done"}]
        )
        _vote(g, chat_id, message_id)


def _vote(g: Generator, chat_id: uuid.UUID, message_id: uuid.UUID, table: str = "Vote_v2") -> None:
    if g.rng.random() < 0.4:
        g.insert(table, {"chatId": chat_id, "messageId": message_id, "isUpvoted": g.rng.random() < 0.7})
        g.expected.votes += 1


def _conversation(g: Generator, owner: uuid.UUID, *, visibility: str) -> uuid.UUID:
    chat_id = g.chat(owner, visibility=visibility)
    documents: list[uuid.UUID] = []
    for _ in range(g.rng.randint(1, 7)):
        _user_turn(g, chat_id)
        _assistant_turn(g, chat_id, owner, documents)
    for _ in range(g.rng.randint(0, 2)):
        g.insert("Stream", {"id": g.new_id(), "chatId": chat_id, "createdAt": g.tick(1)})
        g.expected.streams += 1
    return chat_id


def _old_format(g: Generator, owner: uuid.UUID, *, migrated: bool) -> None:
    """A chat from before message parts: string contents, tool-call/tool-result rows (role "tool")."""
    chat_id = g.chat(owner)
    user_id = g.message(chat_id, "user", '"Please draft a memo"', table="Message")
    document_id = g.document(owner, "text", 1, title="Memo")
    call = {
        "type": "tool-call",
        "toolCallId": "c1",
        "toolName": "createDocument",
        "args": {"title": "Memo", "kind": "text"},
    }
    assistant_id = g.message(chat_id, "assistant", [{"type": "text", "text": "Creating it."}, call], table="Message")
    result = {
        "type": "tool-result",
        "toolCallId": "c1",
        "toolName": "createDocument",
        "result": {"id": str(document_id), "title": "Memo", "kind": "text"},
    }
    tool_id = g.message(chat_id, "tool", [result], table="Message")
    _vote(g, chat_id, assistant_id, table="Vote")
    if not migrated:
        _link(g, chat_id, document_id, CREATED)
        return
    # The legacy app's own migration copied user/assistant rows (same ids) into Message_v2 and merged tool rows.
    g.expected.superseded_messages.update({user_id, assistant_id, tool_id})
    for message_id in (user_id, assistant_id, tool_id):
        g.expected.messages.pop(message_id)
    g.message(chat_id, "user", [{"type": "text", "text": "Please draft a memo"}], message_id=user_id)
    invocation = {
        "state": "result",
        "toolCallId": "c1",
        "toolName": "createDocument",
        "args": call["args"],
        "result": result["result"],
    }
    g.message(
        chat_id,
        "assistant",
        [{"type": "text", "text": "Creating it."}, {"type": "tool-invocation", "toolInvocation": invocation}],
        message_id=assistant_id,
    )
    _link(g, chat_id, document_id, CREATED)


def _malformed(g: Generator, owner: uuid.UUID) -> None:
    chat_id = g.chat(owner, visibility="shared")
    for parts in (
        '{"type":"text","text":"not an array"}',
        "null",
        '"just a string"',
        '[1, {"no": "type"}, {"type": "text", "text": 5}]',
        '[ {"type" : "text",  "text":"spaced"} ]',
        "[]",
    ):
        g.message(chat_id, "assistant", parts)
    g.message(chat_id, "user", [{"type": "text", "text": "odd attachments"}], attachments="{}")
    g.message(chat_id, "user", [{"type": "text", "text": "partial attachment"}], attachments='[{"name": "a.png"}]')
    for role in ("tool", "User", "function"):
        g.message(chat_id, role, [{"type": "text", "text": f"role {role}"}])
    g.message(chat_id, "assistant", [{"type": "text", "text": "still streaming", "state": "streaming"}])
    g.message(chat_id, "assistant", [{"type": "file", "mimeType": "image/png", "data": "iVBORw0KGgo="}])
    missing = g.new_id()
    part = {
        "type": "tool-updateDocument",
        "toolCallId": "x",
        "state": "output-available",
        "input": {"id": str(missing), "description": "?"},
        "output": {"id": str(missing), "title": "?", "kind": "text"},
    }
    g.message(chat_id, "assistant", [part])
    g.expected.dangling_refs.add((chat_id, missing))
    # Documents that no chat touched, of odd shapes.
    g.document(owner, "diagram", 2)
    g.document(owner, "text", 1, content=None)
    g.document(owner, "image", 1, content="not base64!")
    retitled = g.document(owner, "text", 1, title="First title")
    g.document(owner, "text", 1, document_id=retitled, title="Second title")
    # A document whose id is also a chat's id: one stream per id, so it cannot be imported.
    g.expected.colliding_document = g.document(owner, "text", 1, document_id=chat_id)
    g.conn.execute("SET session_replication_role = replica")  # the legacy app's FKs were not always enforced
    for _ in range(3):
        g.message(g.new_id(), "user", [{"type": "text", "text": "orphan"}], orphan=True)
    orphan_suggestion = g.new_id()
    g.insert(
        "Suggestion",
        {
            "id": orphan_suggestion,
            "documentId": g.new_id(),
            "documentCreatedAt": g.tick(),
            "originalText": "a",
            "suggestedText": "b",
            "description": None,
            "isResolved": False,
            "userId": owner,
            "createdAt": g.tick(),
        },
    )
    g.expected.orphan_suggestions.add(orphan_suggestion)
    g.conn.execute("SET session_replication_role = DEFAULT")


def _javascript_text(g: Generator, owner: uuid.UUID) -> None:
    """What years of a JavaScript app leave in the JSON columns: each case once."""
    chat_id = g.chat(owner, title=js_text("Emoji cut in half \ud83d"))
    g.expected.javascript_chat = chat_id
    cut = "Hello \ud83d"  # a string cut between the two halves of an emoji
    g.message(chat_id, "user", js_json([{"type": "text", "text": cut}]))
    g.message(chat_id, "assistant", js_json([{"type": "text", "text": "a\x00b", "state": "done"}]))
    g.message(chat_id, "assistant", js_json([{"type": "reasoning", "text": "\udc00 kept verbatim"}]))
    g.message(chat_id, "assistant", js_json({"type": "text", "text": "one part object"}))
    g.message(chat_id, "assistant", js_json(js_json([{"type": "text", "text": "encoded twice \ud83d"}])))
    g.message(chat_id, "assistant", js_json("a bare string"))
    g.message(chat_id, "assistant", js_json([{"text": "no type"}, {"type": "text", "content": "under content"}]))
    g.message(chat_id, "user", js_json({"role": "user", "content": "a whole message"}))
    report = {"name": "r\ud83d.pdf", "url": "https://blob.example/r.pdf", "contentType": "application/pdf"}
    g.message(chat_id, "user", [{"type": "text", "text": "cut file name"}], attachments=js_json([report]))
    image = {"name": "one.png", "url": "https://blob.example/one.png", "contentType": "image/png"}
    g.message(chat_id, "user", [{"type": "text", "text": "one attachment"}], attachments=js_json(image))
    g.message(chat_id, "assistant", js_json([{"type": "x-legacy-parts", "text": "a type the importer reserves"}]))
    g.message(chat_id, "Üser [/x]", [{"type": "text", "text": "a role that reads as markup"}])
    # A tool call inside a body encoded twice still relates its chat and document.
    document_id = g.document(owner, "text", 1, title=js_text("Notes \ud83d"), content=js_text("Body \udc00 end"))
    call = {
        "type": "tool-createDocument",
        "toolCallId": "t1",
        "state": "output-available",
        "input": {"title": "Notes", "kind": "text"},
        "output": {"id": str(document_id), "title": "Notes", "kind": "text", "content": "\ud83d"},
    }
    g.message(chat_id, "assistant", js_json(js_json([call])))
    _link(g, chat_id, document_id, CREATED)


def fill(g: Generator, *, chats: int) -> None:
    """Users, ``chats`` conversations, the older formats, and the malformed cases."""
    owners = [g.user() for _ in range(12)]
    for index in range(chats):
        _conversation(g, g.rng.choice(owners), visibility="public" if index % 4 == 0 else "private")
    for index in range(8):
        _old_format(g, g.rng.choice(owners), migrated=index % 2 == 0)
    _malformed(g, owners[0])
    _javascript_text(g, owners[1])
