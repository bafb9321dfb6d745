from __future__ import annotations

import os
import uuid

import pytest

from ameide_command.application.context import RandomIds

pytestmark = pytest.mark.unit


class TestRandomIds:
    def test_ids_are_random_version_4_uuids_like_uuid4s(self) -> None:
        """Version 4, RFC 4122 variant, usable as any UUID (text round trip, hashing, safety flag)."""
        ids = RandomIds()
        for _ in range(600):  # past two batches
            made = ids()
            assert made.version == 4
            assert made.variant == uuid.RFC_4122
            assert uuid.UUID(str(made)) == made
            assert hash(uuid.UUID(str(made))) == hash(made)
            assert made.is_safe is uuid.SafeUUID.unknown

    def test_no_id_repeats_across_batches(self) -> None:
        """Every id differs, also where one read of the random source ends and the next begins."""
        ids = RandomIds()
        made = [ids() for _ in range(2000)]
        assert len(set(made)) == len(made)

    def test_a_forked_child_never_hands_out_the_parents_next_id(self) -> None:
        """The batch the parent read is dropped in a forked child, which reads one of its own."""
        ids = RandomIds()
        ids()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report its next id and leave at once
            os.write(write, ids().bytes)
            os._exit(0)
        os.waitpid(pid, 0)
        child = uuid.UUID(bytes=os.read(read, 16))
        os.close(read)
        os.close(write)
        assert child != ids()
