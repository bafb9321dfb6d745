"""Fixtures of the command e2e tests: a client of the running command deployable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.command.command_e2e_client import CommandClient
from tests.support.stack import Stack


@pytest.fixture(scope="session", name="client")
async def fixture_client(stack: Stack, engine: AsyncEngine) -> AsyncIterator[CommandClient]:
    """Stubs of both command services on one channel to the command process."""
    async with grpc.aio.insecure_channel(stack.command_target) as channel:
        yield CommandClient(stack, channel, engine)
