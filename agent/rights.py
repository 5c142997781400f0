"""What a member may do, as one typed value built once per door input and read by every check.

Every door builds it in one function from what its platform says (Discord: roles, channel permissions,
the thread's parent and category, Manage Server; the console: its operator; a resumed run: what was
stored with it). Access lists, quotas, tool permissions, the record search and settings commands read
only this. Where a door knows nothing (a run built without rights, an uncached channel), the defaults
fail closed: no role, only the channel the question was asked in, no management, places unknown."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict


class MemberRights(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # The door's own operator (the console, Studio): reads the whole record and is not held to role
    # lists; nothing a member does on a platform can produce this.
    operator: bool = False
    # The member's role ids; None: the door could not read them (held to `allow_roles` as "none").
    role_ids: list[int] | None = None
    # Channels (and threads) the member can read, besides the one the question was asked in.
    readable_channel_ids: list[int] = []
    # Manage Server in this place (Discord's permission, read by the door).
    can_manage: bool = False
    # Where the question was asked sits under these (a thread's channel, the category).
    channel_parents: list[int] = []
    # False: the door could not tell the channel's parents; channel lists then refuse rather than guess.
    places_known: bool = False
    # May send messages where the question was asked (Discord: Send Messages; in a thread, Send Messages
    # in Threads). None: the door could not tell. A reminder is posted there only when this is True.
    can_post: bool | None = None

    @classmethod
    def of_operator(cls) -> MemberRights:
        return cls(operator=True, places_known=True, can_post=True)

    def readable_channels(self, current: int) -> list[int] | None:
        """Channels the record search may read for this member (None: every one, for the operator)."""
        if self.operator:
            return None
        return sorted({*self.readable_channel_ids, current})

    def holds_any(self, role_ids: Iterable[int]) -> bool:
        """Holds one of these roles (the operator is not held to role lists; unknown roles hold none)."""
        if self.operator:
            return True
        return bool(set(self.role_ids or ()) & set(role_ids))

    def manages(self, admin_roles: Iterable[int] = ()) -> bool:
        """May change the server's settings: Manage Server, or one of the server's admin roles."""
        return self.can_manage or (not self.operator and bool(set(self.role_ids or ()) & set(admin_roles)))


UNKNOWN = MemberRights()
