"""Fixtures of the query e2e tests: channels to the running command and query deployables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest

from tests.e2e.query.query_e2e_client import World
from tests.support.stack import Stack


@pytest.fixture(scope="session", name="world")
async def fixture_world(stack: Stack) -> AsyncIterator[World]:
    """Command and query stubs of the stack."""
    async with (
        grpc.aio.insecure_channel(stack.command_target) as command,
        grpc.aio.insecure_channel(stack.query_target) as query,
    ):
        yield World(stack, command, query)
