"""Authentication: who is asking, in which organization, with which role.

The `Principal` is the only source of `org_id` for every service call; nothing takes an organization
from client input.
"""

from __future__ import annotations

from dataclasses import dataclass

from techdocs_app.errors import PermissionDenied


@dataclass(frozen=True)
class Principal:
    user_id: int
    org_id: int
    role: str
    email: str
    org_name: str

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("Only the shop's owner or an admin can do that.")
