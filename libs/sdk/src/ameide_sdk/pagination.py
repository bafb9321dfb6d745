"""Walk every page of a paginated query (AIP-158 ``page_token`` / ``next_page_token``)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar


class PagedRequest(Protocol):
    """A request with a page token."""

    page_token: str


class PagedResponse(Protocol):
    """A response with the next page's token ("" on the last page)."""

    @property
    def next_page_token(self) -> str:
        """Token of the next page, or "" on the last one."""
        ...


RequestT = TypeVar("RequestT", bound=PagedRequest)
ResponseT = TypeVar("ResponseT", bound=PagedResponse)


async def page_through(
    call: Callable[[RequestT], Awaitable[ResponseT]],
    request: RequestT,
) -> AsyncIterator[ResponseT]:
    """Yield each page of ``call`` starting at ``request``, until the server says there are no more.

    ``request`` is not modified. Example::

        from ameide_core_proto.threads.v1.threads_service_pb2 import GetMessagesRequest
        from ameide_sdk import page_through

        async for page in page_through(client.threads_queries.GetMessages, GetMessagesRequest(threads_id=chat_id)):
            for message in page.messages:
                print(message.sequence, message.parts[0].text.text)

    Raises:
        RuntimeError: The server returned the same page token twice (it would loop forever).
    """
    current = copy.deepcopy(request)
    seen: set[str] = set()
    while True:
        page = await call(current)
        yield page
        token = page.next_page_token
        if not token:
            return
        if token in seen:
            raise RuntimeError("the server repeated a page token; stopping to avoid an endless loop")
        seen.add(token)
        current.page_token = token
