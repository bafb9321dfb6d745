"""Where live signals live in Redis (``lua/prelude.lua`` describes the same layout for the scripts).

Parts that come from clients (tenant and user ids) are joined with a newline: ids are printable, so two different
(feed, tenant, user) never share a key. Everything lives on one Redis, as the feeds do.
"""

from __future__ import annotations

KEY_PREFIX = "ameide:live:"
SEPARATOR = "\n"

# Fields of a signal stream entry (bytes, as the reader gets them).
KIND = b"k"
TENANT = b"t"
USER = b"u"
CHANGE = b"c"
STATE = b"s"
NAME = b"n"
JOINED = b"j"
EXPIRED = b"e"
DRAFT = b"i"
SEQ = b"q"
TEXT = b"d"
AGENT = b"a"
MESSAGE = b"m"
MESSAGE_SEQUENCE = b"w"
HEAD = b"h"
REASON = b"r"
DETAIL = b"e"

# Signal kinds.
PRESENCE_CHANGED = b"pc"
DRAFT_STARTED = b"ds"
DRAFT_DELTA = b"dd"
DRAFT_COMPLETED = b"dc"
DRAFT_ABANDONED = b"da"


def signals_key(feed_key: str, prefix: str = KEY_PREFIX) -> str:
    """The stream of a chat's or artifact's signals (``thread:{id}`` / ``artifact:{id}``)."""
    return f"{prefix}signals:{feed_key}"


def presence_member(feed_key: str, tenant_id: str) -> str:
    """One tenant's presence on a resource, as the sweeper's list names it."""
    return f"{feed_key}{SEPARATOR}{tenant_id}"


def presence_key(feed_key: str, tenant_id: str, prefix: str = KEY_PREFIX) -> str:
    """The users present (one tenant's) on a resource, by when each one's state changes next."""
    return f"{prefix}presence:{presence_member(feed_key, tenant_id)}"


def presence_due_key(prefix: str = KEY_PREFIX) -> str:
    """Every presence with a change to come, by its earliest."""
    return f"{prefix}presence:due"


def draft_key(draft_id: str, prefix: str = KEY_PREFIX) -> str:
    """A draft's state (its text is this key + ``:text``)."""
    return f"{prefix}draft:{draft_id}"


def drafts_key(feed_key: str, prefix: str = KEY_PREFIX) -> str:
    """A chat's open drafts."""
    return f"{prefix}drafts:{feed_key}"


def drafts_due_key(prefix: str = KEY_PREFIX) -> str:
    """Every open draft, by its deadline."""
    return f"{prefix}drafts:due"


def epoch_key(prefix: str = KEY_PREFIX) -> str:
    """A value that changes only when Redis lost its data (then subscribers re-read everything)."""
    return f"{prefix}epoch"
