"""The e2e harness: real deployables answer health and reflection, enforce auth, and survive kill/restart."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ameide_core_proto.threads.v1 import threads_service_pb2, threads_service_pb2_grpc
from tests.support.stack import Stack, health_status

pytestmark = pytest.mark.e2e

SERVING = health_pb2.HealthCheckResponse.SERVING


async def _services(target: str) -> set[str]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request])):
            return {service.name for service in reply.list_services_response.service}
    return set()


class TestDeployables:
    def test_every_deployable_is_serving(self, stack: Stack) -> None:
        """Command, query and projector answer health SERVING."""
        assert [health_status(stack.target(name)) for name in ("command", "query", "projector")] == [SERVING] * 3

    def test_each_service_reports_health_by_name(self, stack: Stack) -> None:
        """Health answers SERVING for each served service's full name."""
        names = {
            stack.command_target: "ameide_core_proto.threads.v1.ChatCommandService",
            stack.query_target: "ameide_core_proto.artifacts.v1.ArtifactQueryService",
        }
        assert [health_status(target, service) for target, service in names.items()] == [SERVING] * 2

    async def test_reflection_lists_the_four_services(self, stack: Stack) -> None:
        """Command reflects both command services, query both query services (what buf curl --list-methods reads)."""
        command, query = await _services(stack.command_target), await _services(stack.query_target)
        assert {
            "ameide_core_proto.threads.v1.ChatCommandService",
            "ameide_core_proto.artifacts.v1.ArtifactCommandService",
        } <= command
        assert {
            "ameide_core_proto.threads.v1.ChatQueryService",
            "ameide_core_proto.artifacts.v1.ArtifactQueryService",
        } <= query

    async def test_calls_without_a_token_are_unauthenticated(self, stack: Stack) -> None:
        """A real RPC without credentials is UNAUTHENTICATED."""
        async with grpc.aio.insecure_channel(stack.command_target) as channel:
            stub = threads_service_pb2_grpc.ChatCommandServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.CreateChat(threads_service_pb2.CreateChatRequest(title="no token"))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED

    async def test_calls_with_a_forged_token_are_unauthenticated(self, stack: Stack) -> None:
        """A token signed with another secret is UNAUTHENTICATED."""
        from ameide_runtime.auth import mint_token  # noqa: PLC0415 - only this test forges tokens

        forged = mint_token("not-the-stack-secret-at-all-000000", user_id="u", tenant_id="t")
        async with grpc.aio.insecure_channel(stack.query_target) as channel:
            stub = threads_service_pb2_grpc.ChatQueryServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetChat(
                    threads_service_pb2.GetChatRequest(threads_id="x"),
                    metadata=(("authorization", f"Bearer {forged}"),),
                )
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


class TestLifecycle:
    def test_sigterm_exits_cleanly_and_restart_serves_again(self, stack: Stack) -> None:
        """SIGTERM stops a deployable with exit code 0; started again, it serves on the same port."""
        assert stack.stop("query") == 0
        assert health_status(stack.query_target) is None
        stack.start("query")
        assert health_status(stack.query_target) == SERVING

    def test_killed_projector_comes_back(self, stack: Stack) -> None:
        """A SIGKILLed projector starts again and serves health."""
        stack.kill("projector")
        assert not stack.running("projector")
        stack.start("projector")
        assert health_status(stack.projector_target) == SERVING
