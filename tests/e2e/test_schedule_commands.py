"""`/schedule` through the real discord.py client and the fake Discord: a member's own reminders, and
the refusals checked in code (someone else's reminder, the server's list, recurring posts, time zones)."""

from __future__ import annotations

import re

from tests.e2e.conftest import Harness
from tests.e2e.test_slash_commands import answer, sub


async def test_members_handle_only_their_own_reminders_and_admins_any(harness: Harness):
    h, d = harness, harness.discord
    alice, bob, admin = d.add_user("alice"), d.add_user("bob"), d.add_user("admin")

    said = await answer(h, await d.slash(alice, "schedule", sub("remind", when="in 2 hours", what="call mom")))
    assert "I'll remind you" in said and "call mom" in said
    found = re.search(r"`#(\d+)`", said)
    assert found
    number = found.group(1)

    assert "You have no reminders" in await answer(h, await d.slash(bob, "schedule", sub("list")))
    assert "call mom" in await answer(h, await d.slash(alice, "schedule", sub("list")))
    refused = await answer(h, await d.slash(bob, "schedule", sub("cancel", reminder=f"#{number}")))
    assert "No reminder" in refused, "a member cannot cancel someone else's reminder"
    assert "Manage Server" in await answer(h, await d.slash(bob, "schedule", sub("list", scope="server")))
    assert "call mom" in await answer(
        h, await d.slash(admin, "schedule", sub("list", scope="server"), manage_guild=True)
    )
    cancelled = await answer(h, await d.slash(admin, "schedule", sub("cancel", reminder=number), manage_guild=True))
    assert cancelled.startswith(f"Cancelled #{number}"), "an admin may cancel any in the server"
    assert "already" in await answer(h, await d.slash(alice, "schedule", sub("cancel", reminder=number)))


async def test_time_zones_and_unreadable_times_are_answered_with_what_to_write(harness: Harness):
    h, d = harness, harness.discord
    alice, bob = d.add_user("alice"), d.add_user("bob")
    assert "did you mean Asia/Tokyo" in await answer(h, await d.slash(alice, "schedule", sub("timezone", zone="Tokyo")))
    assert "Asia/Tokyo" in await answer(h, await d.slash(alice, "schedule", sub("timezone", zone="asia/tokyo")))
    assert "Asia/Tokyo" in await answer(h, await d.slash(alice, "schedule", sub("timezone")))
    refused = await answer(h, await d.slash(bob, "schedule", sub("timezone", zone="Europe/Lisbon", server=True)))
    assert "Manage Server" in refused, "only admins set the server's default"
    said = await answer(h, await d.slash(alice, "schedule", sub("remind", when="whenever", what="x")))
    assert said.startswith("Not scheduled") and "in 2 hours" in said


async def test_a_reminder_set_in_a_private_chat_is_delivered_by_direct_message(harness: Harness):
    """The reply model schedules it (the tool, through the graph) in an ephemeral /chat: only the member
    saw it, so it is sent to them alone, never posted in the channel."""
    from datetime import timedelta

    from agent.schedules.scheduler import Due
    from discord_adapter.reminders import ReminderDesk
    from tests.e2e.test_slash_commands import final_edit
    from tests.fakes.openai_server import Reply

    h, d = harness, harness.discord
    kim = d.add_user("kim")
    h.model.push(
        Reply(tool_calls=[("schedule_reminder", {"when": "in 2 hours", "what": "take my medicine"})]),
        Reply("I'll remind you in 2 hours."),
    )
    token = await d.slash(
        kim, "chat", [{"name": "prompt", "type": 3, "value": "remind me in 2 hours to take my medicine"}]
    )
    await d.wait_until(lambda: final_edit(d, token))
    [row] = await h.services.reminders.listing(owner_id=int(kim["id"]))
    assert row.private and row.text == "take my medicine"

    desk = ReminderDesk(h.bot, h.bot.replier, h.bot.budget)
    assert row.due_at is not None
    assert await desk.deliver(Due(row, row.due_at, timedelta(0), missed=False)) == "sent"
    [dm] = d.dm_channels.values()
    assert dm["recipients"][0]["id"] == kim["id"]
    [sent] = d.bot_messages(dm)
    assert "take my medicine" in sent["content"] and sent.get("guild_id") is None
    assert not any("medicine" in m["content"] for m in d.bot_messages(d.general)), "never in the channel"
