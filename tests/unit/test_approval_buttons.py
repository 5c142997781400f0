"""Approval buttons as a discord.py DynamicItem: the custom ids already posted keep their meaning, a
press is parsed by the template and handed to the client's approval desk."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import discord

from discord_adapter import event_guard
from discord_adapter.approvals import TEMPLATE, ApprovalButton, Press, buttons, call_key


def test_the_buttons_carry_the_custom_ids_posted_before() -> None:
    rows = buttons(1234567890123456789, "call_abc").to_components()
    shown = [(c["label"], c["style"], c["custom_id"]) for row in rows for c in row["components"]]
    assert shown == [
        ("Approve", discord.ButtonStyle.success.value, "observer:approval:1234567890123456789:call_abc:yes"),
        ("Deny", discord.ButtonStyle.danger.value, "observer:approval:1234567890123456789:call_abc:no"),
    ]


def test_a_long_call_id_is_shortened_as_before_and_fits_a_custom_id() -> None:
    long = "call_" + "x" * 80
    assert call_key(long) == hashlib.sha1(long.encode()).hexdigest()[:40]
    assert call_key("call_abc") == "call_abc"
    assert ":" not in call_key("mcp:call:1"), "the template's separator never reaches a custom id"
    custom = Press(2**63 - 1, call_key(long), approve=False).custom_id
    assert len(custom) <= 100 and TEMPLATE.fullmatch(custom)


async def test_the_template_parses_a_press() -> None:
    match = TEMPLATE.fullmatch("observer:approval:42:call_abc:yes")
    assert match is not None
    item = await ApprovalButton.from_custom_id(None, None, match)  # type: ignore[arg-type]
    assert item.press == Press(42, "call_abc", approve=True)
    assert item.custom_id == "observer:approval:42:call_abc:yes"
    for other in (
        "observer:approval:abc:call_abc:yes",
        "observer:approval:42:call_abc:maybe",
        "observer:approval:42:a:b:yes",
        "observer:other:42:call_abc:yes",
        "observer:approval:42:call_abc:yes:more",
    ):
        assert TEMPLATE.fullmatch(other) is None, other


async def test_a_press_goes_to_the_clients_desk() -> None:
    pressed: list[Any] = []

    class Desk:
        async def on_press(self, interaction: Any, press: Press) -> None:
            pressed.append((interaction, press))

    interaction = SimpleNamespace(client=SimpleNamespace(approvals=Desk()))
    await ApprovalButton(Press(7, "k", approve=False)).callback(interaction)  # type: ignore[arg-type]
    assert pressed == [(interaction, Press(7, "k", approve=False))]


async def test_a_failing_desk_is_logged_without_its_text(caplog: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(event_guard, "show_exception_text", False)
    words = "secret " + "words"

    class Desk:
        async def on_press(self, interaction: Any, press: Press) -> None:
            raise RuntimeError(words)

    interaction = SimpleNamespace(client=SimpleNamespace(approvals=Desk()))
    await ApprovalButton(Press(7, "k", approve=True)).callback(interaction)  # type: ignore[arg-type]
    assert "approval button failed" in caplog.text and "RuntimeError" in caplog.text
    assert "secret words" not in caplog.text


def test_the_client_listens_for_them() -> None:
    client = discord.Client(intents=discord.Intents.none())
    client.add_dynamic_items(ApprovalButton)
    assert TEMPLATE in client._connection._view_store._dynamic_items
