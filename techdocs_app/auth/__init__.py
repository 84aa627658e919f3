"""Authentication: who is asking, in which organization, with which role.

The `Principal` is the only source of `org_id` for every service call; nothing takes an organization
from client input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    user_id: int
    org_id: int
    role: str
    email: str
    org_name: str

    @property
    def is_admin(self) -> bool:
        """Owner or admin. For authorisation use `auth.permissions.require(principal, action)`."""
        return self.role in ("owner", "admin")
