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
