from __future__ import annotations

import pytest

from ameide_command.domain.linkmap import LinkMap
from ameide_command.domain.model import CREATED, REFERENCED, Link
from tests.unit.command.command_builders import T0

pytestmark = pytest.mark.unit


class TestLinkMap:
    def test_behaves_as_an_immutable_mapping_of_links(self) -> None:
        """Adding and removing return copies; entries decode to the links put in; equality is by content."""
        empty = LinkMap()
        one = empty.with_link("a", Link(CREATED, T0, "u"))
        two = one.with_link("b", Link(REFERENCED, T0, "v"))
        assert (len(empty), len(one), len(two)) == (0, 1, 2)
        assert two["b"] == Link(REFERENCED, T0, "v")
        assert "a" in two
        assert "z" not in two
        assert two.without("a") == {"b": Link(REFERENCED, T0, "v")}
        assert LinkMap.of({"a": Link(CREATED, T0, "u")}) == one
        assert LinkMap.of(one) is one

    def test_raw_form_is_the_snapshot_encoding(self) -> None:
        """Relation, epoch microseconds and author: compact and exact."""
        link = Link(CREATED, T0.replace(microsecond=123456), "u")
        assert LinkMap.of({"a": link}).raw == {"a": [CREATED, 1735732800123456, "u"]}
        assert LinkMap(LinkMap.of({"a": link}).raw)["a"] == link
