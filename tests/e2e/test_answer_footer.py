"""The model · tokens · cost line under answers (issue N): off by default, switched per server by an admin
(`/observer footer`, Manage Server checked in code), on the last part of a split answer only, after the
streaming edits, and never part of what the models read next time."""

from __future__ import annotations

import re
from typing import Any

from discord_adapter.split import DISCORD_LIMIT
from discord_adapter.tolerant import MENTION_ROOM
from tests.e2e.conftest import Harness
from tests.e2e.test_slash_commands import answer, sub
from tests.fakes.openai_server import Reply

FOOTER = re.compile(r"\n-# chat · [\d,]+ tokens · \$0\.\d{4}$")
ANSWER = "How about Miso? It is short, warm and easy to call across the house."


async def ask(h: Harness, who: dict[str, Any], text: str, reply: str) -> list[dict[str, Any]]:
    """The bot's messages answering this question, as they finally read."""
    d = h.discord
    before = {m["id"] for m in d.bot_messages()}
    h.model.push(Reply(reply))
    asked = await d.send_as(who, f"{h.mention()} {text}")
    await d.wait_for_bot_message(lambda m: (m.get("message_reference") or {}).get("message_id") == asked["id"])
    await h.settle()
    return [m for m in d.bot_messages() if m["id"] not in before]


async def test_the_footer_is_off_by_default_and_an_admin_switches_it(harness: Harness):
    h, d = harness, harness.discord
    alice, member, admin = d.add_user("alice"), d.add_user("member"), d.add_user("admin")

    [plain] = await ask(h, alice, "a cat name?", ANSWER)
    assert plain["content"] == ANSWER, "off by default"

    token = await d.slash(member, "observer", sub("footer", state="on"))
    assert "Manage Server" in await answer(h, token), "a member cannot switch it"
    assert not await h.services.record.shows_footer(int(d.guild_id))

    token = await d.slash(admin, "observer", sub("footer", state="on"), manage_guild=True)
    assert "now end with a line naming the model" in await answer(h, token)
    h.model.token_delay_s = 0.08  # several streaming edits before the final one
    [shown] = await ask(h, alice, "another one?", ANSWER)
    final = d.messages[d.general["id"]][shown["id"]]
    assert final["content"].startswith(ANSWER + "\n-# chat · ")
    assert FOOTER.search(final["content"]), final["content"]
    interim = [content for _, content in final.get("_edits", [])[:-1]]
    assert interim and all("tokens ·" not in (content or "") for content in interim), "only the final edit has it"
    h.model.token_delay_s = 0.0

    # The record keeps what was shown; the models read the answer without the line.
    lines = await h.services.record.window(int(d.general["id"]), 10)
    mine = next(line for line in lines if line.message_id == int(shown["id"]))
    assert mine.text == ANSWER

    token = await d.slash(admin, "observer", sub("footer", state="off"), manage_guild=True)
    assert "no longer end with" in await answer(h, token)
    [plain] = await ask(h, alice, "and a dog name?", ANSWER)
    assert plain["content"] == ANSWER


async def test_the_footer_goes_under_the_last_part_of_a_split_answer(harness: Harness):
    h, d = harness, harness.discord
    await h.services.record.set_footer(int(d.guild_id), True)
    paragraph = "This paragraph explains one more detail of the plan, at some length, so the answer runs long. "
    long_answer = "\n\n".join(paragraph * 3 for _ in range(20))
    parts = await ask(h, d.add_user("bob"), "explain at length", long_answer)
    assert len(parts) >= 3
    assert all(len(p["content"]) <= 2000 and "▌" not in p["content"] for p in parts)
    assert all("tokens ·" not in p["content"] for p in parts[:-1]), "only the last part"
    assert FOOTER.search(parts[-1]["content"]), parts[-1]["content"]
    shown = "".join(FOOTER.sub("", p["content"]) for p in parts)
    assert shown.count("This paragraph explains") == 60, "nothing of the answer lost to the line"

    # A last part with no room left: the line is a part of its own, whole.
    exact = "x" * (DISCORD_LIMIT - MENTION_ROOM - 5)  # one part, 5 characters short of the limit
    parts = await ask(h, d.add_user("carol"), "fill it", exact)
    assert [p["content"] for p in parts][:1] == [exact]
    assert len(parts) == 2 and FOOTER.search("\n" + parts[1]["content"])
