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


VIEW, SEND, SEND_IN_THREADS = 1 << 10, 1 << 11, 1 << 38


async def test_a_reminder_is_refused_where_the_member_cannot_send_messages(harness: Harness):
    """Checked from the permissions Discord resolved for the member there: a member who may read a channel
    but not write in it (or, in a thread, not write in threads) does not get the bot to post for them."""
    h, d = harness, harness.discord
    alice = d.add_user("alice")
    thread = d.add_thread("plans", d.general)
    await d.dispatch("THREAD_CREATE", {**thread, "newly_created": True})

    read_only = await answer(
        h, await d.slash(alice, "schedule", sub("remind", when="in 2 hours", what="x"), permissions=VIEW)
    )
    assert read_only.startswith("Not scheduled") and "can't send messages here" in read_only
    no_threads = await answer(
        h,
        await d.slash(
            alice, "schedule", sub("remind", when="in 2 hours", what="x"), channel=thread, permissions=VIEW | SEND
        ),
    )
    assert no_threads.startswith("Not scheduled"), "in a thread, Send Messages in Threads is what counts"
    assert await h.services.reminders.listing(owner_id=int(alice["id"])) == []
    ok = await answer(
        h,
        await d.slash(
            alice,
            "schedule",
            sub("remind", when="in 2 hours", what="x"),
            channel=thread,
            permissions=VIEW | SEND_IN_THREADS,
        ),
    )
    assert "I'll remind you" in ok


async def test_a_recurring_post_in_a_thread_needs_send_messages_in_threads(harness: Harness):
    h, d = harness, harness.discord
    admin = d.add_user("admin")
    thread = d.add_thread("plans", d.general)
    await d.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
    d.deny_bot(d.general, SEND_IN_THREADS)  # the bot may post in the channel, not in its threads
    await d.dispatch("CHANNEL_UPDATE", d.general)
    options = sub("add", channel=thread["id"], every="every day at 9:00", prompt="the agenda")
    options[0]["options"][0]["type"] = 7
    said = await answer(h, await d.slash(admin, "schedule", options, manage_guild=True, channels=[thread]))
    assert "I can't post in" in said and "Send Messages in Threads" in said
    assert await h.services.reminders.listing(guild_id=int(d.guild_id)) == []


async def test_a_public_chat_in_a_read_only_channel_schedules_by_direct_message(harness: Harness):
    """The tool from a public /chat where the member may read but not write: never a post in the channel."""
    from tests.e2e.test_slash_commands import final_edit
    from tests.fakes.openai_server import Reply

    h, d = harness, harness.discord
    kim = d.add_user("kim")
    await h.services.record.set_privacy(int(kim["id"]), "kim", "public")
    h.model.push(
        Reply(tool_calls=[("schedule_reminder", {"when": "in 2 hours", "what": "[free nitro](https://evil.example)"})]),
        Reply("Done."),
    )
    token = await d.slash(
        kim, "chat", [{"name": "prompt", "type": 3, "value": "remind me in 2 hours"}], permissions=VIEW
    )
    await d.wait_until(lambda: final_edit(d, token))
    [row] = await h.services.reminders.listing(owner_id=int(kim["id"]))
    assert row.private, "a member who cannot write here gets it by direct message"


async def test_a_masked_link_in_a_reminder_is_shown_as_plain_text(harness: Harness):
    from datetime import timedelta

    from agent.schedules.scheduler import Due
    from discord_adapter.reminders import ReminderDesk

    h, d = harness, harness.discord
    alice = d.add_user("alice")
    what = "[free nitro](https://evil.example)"
    said = await answer(h, await d.slash(alice, "schedule", sub("remind", when="in 2 hours", what=what)))
    assert "\\[free nitro\\](https://evil.example)" in said
    [row] = await h.services.reminders.listing(owner_id=int(alice["id"]))
    assert row.due_at is not None
    desk = ReminderDesk(h.bot, h.bot.replier, h.bot.budget)
    assert await desk.deliver(Due(row, row.due_at, timedelta(0), missed=False)) == "sent"
    [sent] = [m for m in d.bot_messages(d.general) if "evil.example" in m["content"]]
    assert "\\[free nitro\\](https://evil.example)" in sent["content"], "brackets escaped: no masked link"


async def test_a_number_past_the_records_integers_is_no_such_reminder(harness: Harness):
    h, d = harness, harness.discord
    alice = d.add_user("alice")
    for number in ["99999999999999999999999", "-5", "0"]:
        said = await answer(h, await d.slash(alice, "schedule", sub("cancel", reminder=number)))
        assert said.startswith("No reminder #"), said


async def test_the_servers_own_zone_alias_is_refused(harness: Harness):
    h, d = harness, harness.discord
    alice = d.add_user("alice")
    for alias in ["localtime", "posixrules", "Factory"]:
        said = await answer(h, await d.slash(alice, "schedule", sub("timezone", zone=alias)))
        assert said.startswith("Not changed") and "IANA" in said, said
    assert await h.services.reminders.member_zone(int(alice["id"])) is None
