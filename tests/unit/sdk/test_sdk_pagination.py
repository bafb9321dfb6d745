"""page_through: every page once, the caller's request untouched, no endless loop on a misbehaving server."""

from __future__ import annotations

import uuid

import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2
from ameide_sdk import AmeideClient, page_through
from tests.unit.sdk.fakes import FakeServer

pytestmark = pytest.mark.unit


class TestPageThrough:
    """Walking GetMessages page by page."""

    async def test_walks_every_page(self, client: AmeideClient, server: FakeServer) -> None:
        """23 messages in pages of 10 come as 10, 10, 3, each message once, in order."""
        server.queries.messages = [f"m{i}" for i in range(23)]
        request = threads_service_pb2.GetMessagesRequest(threads_id=str(uuid.uuid4()), page_size=10)

        pages = [page async for page in page_through(client.threads_queries.GetMessages, request)]

        assert [10, 10, 3] == [len(page.messages) for page in pages]
        assert server.queries.messages == [message.id for page in pages for message in page.messages]
        assert request.page_token == ""

    async def test_single_page(self, client: AmeideClient) -> None:
        """An empty result is one empty page."""
        request = threads_service_pb2.GetMessagesRequest(threads_id=str(uuid.uuid4()))

        pages = [page async for page in page_through(client.threads_queries.GetMessages, request)]

        assert [0] == [len(page.messages) for page in pages]

    async def test_repeated_token_stops(self) -> None:
        """A server handing out the same token again would loop forever: RuntimeError instead."""

        async def stuck(_: threads_service_pb2.GetMessagesRequest) -> threads_service_pb2.GetMessagesResponse:
            return threads_service_pb2.GetMessagesResponse(next_page_token="same")

        request = threads_service_pb2.GetMessagesRequest()
        with pytest.raises(RuntimeError, match="repeated a page token"):
            _ = [page async for page in page_through(stuck, request)]
