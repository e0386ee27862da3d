"""Who may see residents: decided in one place."""

from __future__ import annotations

import pytest

from twin.access import ANONYMOUS, Principal, may_see_residents

VILLAGE = "330483103001"


def test_only_admins_and_officials_scoped_above_the_unit():
    assert not may_see_residents(ANONYMOUS, VILLAGE + "001")
    assert may_see_residents(Principal("admin"), VILLAGE + "001")
    assert may_see_residents(Principal("official", (VILLAGE,)), VILLAGE + "001002")
    assert not may_see_residents(Principal("official", ("330483103002",)), VILLAGE + "001")
    for role in ("planner", "screen", "field"):
        assert not may_see_residents(Principal(role, (VILLAGE,)), VILLAGE)


def test_unknown_role_is_refused():
    with pytest.raises(ValueError):
        Principal("mayor")
