import uuid

import pytest

from ameide_core_proto.artifacts.v1 import artifacts_service_pb2
from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_query.streams.kinds import artifact_kind, chat_kind
from ameide_query.views import access
from ameide_runtime.errors import InvalidArgument

pytestmark = pytest.mark.unit


class TestFeedKinds:
    def test_ids_must_be_uuids(self) -> None:
        """A missing or malformed id is INVALID_ARGUMENT naming the request field."""
        kind = chat_kind(access)
        chat_id = uuid.uuid4()
        assert kind.parse_id(str(chat_id)) == chat_id
        for bad in ("", "not-a-uuid"):
            with pytest.raises(InvalidArgument) as caught:
                kind.parse_id(bad)
            assert caught.value.violations[0].field == "threads_id"

    def test_feeds_and_payloads(self) -> None:
        """Each kind names its feed and decodes its own update message."""
        chat, artifact = chat_kind(access), artifact_kind(access)
        assert chat.feed_of("c") == "thread:c"
        assert artifact.feed_of("a") == "artifact:a"
        gone = threads_service_pb2.ChatUpdate()
        gone.deleted.threads_id = "c"
        assert chat.decode(gone.SerializeToString()).WhichOneof("update") in chat.terminal
        content = artifacts_service_pb2.ArtifactUpdate(version=3)
        content.content_updated.body = b"x"
        decoded = artifact.decode(content.SerializeToString())
        assert decoded.WhichOneof("update") not in artifact.terminal | artifact.recheck
