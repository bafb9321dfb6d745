"""Fixtures of the SDK unit tests: a scripted fake server and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ameide_sdk import AmeideClient, ReconnectPolicy, RetryPolicy
from tests.unit.sdk.fakes import FakeServer, fake_server

# Backoffs tiny enough that the tests never wait noticeably; the behaviour under test is the count, not the time.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.002)
FAST_RECONNECT = ReconnectPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.002)


@pytest.fixture(name="server")
async def fixture_server() -> AsyncIterator[FakeServer]:
    """A fresh fake server per test."""
    async with fake_server() as running:
        yield running


@pytest.fixture(name="client")
async def fixture_client(server: FakeServer) -> AsyncIterator[AmeideClient]:
    """A client with a bearer token and an extra header, talking to the fake."""
    async with AmeideClient(
        server.target, token="tok-1", headers={"X-Tenant-Id": "t1"}, retry=FAST_RETRY, reconnect=FAST_RECONNECT
    ) as client:
        yield client
