"""The walking skeleton through the real shape: CreateChat on the command process, GetChat on the query process."""

from __future__ import annotations

import uuid

import grpc
import grpc.aio
import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc
from tests.support.grpc_status import details_of
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


class TestCreateThenGet:
    async def test_created_chat_is_readable_with_its_consistency_token(self, stack: Stack) -> None:
        """A chat created on the command service is returned by GetChat on the query service (read-your-writes)."""
        user, tenant = f"user-{uuid.uuid4()}", f"tenant-{uuid.uuid4()}"
        metadata = stack.metadata(user, tenant)
        async with (
            grpc.aio.insecure_channel(stack.command_target) as command_channel,
            grpc.aio.insecure_channel(stack.query_target) as query_channel,
        ):
            commands = threads_service_pb2_grpc.ChatCommandServiceStub(command_channel)
            queries = threads_service_pb2_grpc.ChatQueryServiceStub(query_channel)
            created = await commands.CreateChat(
                threads_service_pb2.CreateChatRequest(title="Walking skeleton"), metadata=metadata
            )
            read = await queries.GetChat(
                threads_service_pb2.GetChatRequest(
                    threads_id=created.threads.id, consistency_token=created.consistency_token
                ),
                metadata=metadata,
            )
        assert (created.threads.id, "Walking skeleton", user, tenant) == (
            read.threads.id,
            read.threads.title,
            read.threads.user_id,
            read.threads.tenant_id,
        )

    async def test_other_tenant_sees_not_found(self, stack: Stack) -> None:
        """Another tenant's chat answers NOT_FOUND, never PERMISSION_DENIED."""
        owner = stack.metadata("owner", f"tenant-{uuid.uuid4()}")
        stranger = stack.metadata("stranger", f"tenant-{uuid.uuid4()}")
        async with (
            grpc.aio.insecure_channel(stack.command_target) as command_channel,
            grpc.aio.insecure_channel(stack.query_target) as query_channel,
        ):
            created = await threads_service_pb2_grpc.ChatCommandServiceStub(command_channel).CreateChat(
                threads_service_pb2.CreateChatRequest(title="private"), metadata=owner
            )
            queries = threads_service_pb2_grpc.ChatQueryServiceStub(query_channel)
            await queries.GetChat(
                threads_service_pb2.GetChatRequest(
                    threads_id=created.threads.id, consistency_token=created.consistency_token
                ),
                metadata=owner,
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await queries.GetChat(
                    threads_service_pb2.GetChatRequest(threads_id=created.threads.id), metadata=stranger
                )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


class TestBadInput:
    @pytest.mark.parametrize(
        ("request_", "field"),
        [
            (threads_service_pb2.CreateChatRequest(title="x" * 257), "title"),
        ],
    )
    async def test_create_chat_rejects_bad_fields(
        self, stack: Stack, request_: threads_service_pb2.CreateChatRequest, field: str
    ) -> None:
        """An oversize title is INVALID_ARGUMENT naming the field."""
        async with grpc.aio.insecure_channel(stack.command_target) as channel:
            stub = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.CreateChat(request_, metadata=stack.metadata("u", "t"))
        details = details_of(caught.value)
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT
        assert field in details.field_violations

    @pytest.mark.parametrize("threads_id", ["", "not-a-uuid"])
    async def test_get_chat_rejects_bad_ids(self, stack: Stack, threads_id: str) -> None:
        """Empty or malformed ids are INVALID_ARGUMENT naming threads_id."""
        async with grpc.aio.insecure_channel(stack.query_target) as channel:
            stub = threads_service_pb2_grpc.ChatQueryServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetChat(
                    threads_service_pb2.GetChatRequest(threads_id=threads_id), metadata=stack.metadata("u", "t")
                )
        details = details_of(caught.value)
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "threads_id" in details.field_violations

    async def test_unknown_chat_is_not_found(self, stack: Stack) -> None:
        """A well-formed id nobody created is NOT_FOUND."""
        async with grpc.aio.insecure_channel(stack.query_target) as channel:
            stub = threads_service_pb2_grpc.ChatQueryServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetChat(
                    threads_service_pb2.GetChatRequest(threads_id=str(uuid.uuid4())), metadata=stack.metadata("u", "t")
                )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
