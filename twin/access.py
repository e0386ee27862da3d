"""The one place that decides what a principal may see (accounts and roles come later).

Every path to personal data asks here; until accounts exist everyone is anonymous and
sees residents only as counts.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("anonymous", "admin", "official", "planner", "field", "screen")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a role and, for scoped roles, the unit codes they are scoped to."""

    role: str = "anonymous"
    scope: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")


ANONYMOUS = Principal()


def may_see_residents(principal: Principal, unit_code: str) -> bool:
    """Whether the principal may see the (masked) residents of the unit with this code:
    admins, and officials scoped to that unit or one above it. Codes nest by prefix."""
    if principal.role == "admin":
        return True
    if principal.role == "official":
        return any(unit_code.startswith(code) for code in principal.scope)
    return False
