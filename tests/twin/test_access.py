"""What each role may do: decided in one place (twin.domain.access)."""

from __future__ import annotations

import pytest

from twin.domain.access import (
    ACTIONS,
    ANONYMOUS,
    PSEUDO_ROLES,
    PUBLIC,
    ROLES,
    Principal,
    may,
    may_read_api,
)


def test_every_role_has_its_actions_and_only_officials_see_residents():
    assert set(ACTIONS) == set(ROLES)
    assert [r for r in ROLES if may(Principal(r), "residents")] == ["official"]
    assert [r for r in ROLES if may(Principal(r), "import")] == ["admin"]
    assert not may_read_api(ANONYMOUS) and not ANONYMOUS.signed_in
    assert all(may_read_api(Principal(r)) for r in ROLES if r not in PSEUDO_ROLES)
    assert not may_read_api(PUBLIC) and not PUBLIC.signed_in  # Open311's public read only


def test_unknown_roles_are_refused():
    with pytest.raises(ValueError, match="unknown role 'mayor'"):
        Principal("mayor")
