"""Members' messages edited while this process has them in hand: answered with the new text when it
has not started yet, and the answer says it was to the old text when it had."""

from __future__ import annotations

from agent.events import Event
from discord_adapter.inbox import Inbox


class Edits:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._new: dict[int, str] = {}  # message id → its new text

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._new

    def saw(self, message_id: int, text: str) -> None:
        if self.inbox.holds(message_id):
            self._new[message_id] = text

    def latest(self, event: Event) -> Event:
        """The message as it reads now (edited while it waited: the new text)."""
        edited = self._new.pop(event.message_id, None)
        return event if edited is None else event.model_copy(update={"text": edited})

    def since_taken(self, event: Event) -> bool:
        """Edited since its run started, to something else."""
        edited = self._new.pop(event.message_id, None)
        return edited is not None and edited != event.text

    def forget(self, message_id: int) -> None:
        self._new.pop(message_id, None)
