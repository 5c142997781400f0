"""The Replier alone: one job through the real reply graph (fake model, real record), rendered into a
recording sink, built from its narrow parts without an ObserverBot or a gateway connection."""

from __future__ import annotations

import asyncio
import dataclasses
from itertools import count
from typing import Any

import discord

from agent.memory.progress import Progress
from agent.services import Services
from discord_adapter.characters import CharacterDesk
from discord_adapter.inbox import Inbox
from discord_adapter.presence import Presence
from discord_adapter.replier import Replier, ReplyTo
from discord_adapter.reply_run import Surroundings
from discord_adapter.stream import ChannelBudget, StreamRenderer
from tests.conftest import make_event, reply_graph
from tests.fakes.openai_server import FakeOpenAI, Reply


class Posted:
    def __init__(self, message_id: int) -> None:
        self.id = message_id


class RecordingSink:
    """Where a channel's messages would go: what was posted, and each message's last text."""

    def __init__(self) -> None:
        self.shown: dict[int, str] = {}
        self._ids = count(9000)

    async def send(self, content: str, first: bool) -> Any:
        posted = Posted(next(self._ids))
        self.shown[posted.id] = content
        return posted

    async def edit(self, handle: Any, content: str) -> None:
        self.shown[handle.id] = content

    async def delete(self, handle: Any) -> None:
        self.shown.pop(handle.id)


async def nothing_shown(activity: str | None) -> None:
    return None


def replier_for(services: Services) -> Replier:
    client = discord.Client(intents=discord.Intents.none())  # never connected: no voice channel to speak in
    budget = ChannelBudget(0.0)
    progress = Progress(services.record.engine, services.record.patience)
    around = Surroundings(
        client=client,
        budget=budget,
        presence=Presence(nothing_shown),
        progress=progress,
        characters=CharacterDesk(client, services.personas, budget),
        speaker=services.speaker,
        voice_with_text=True,
        edited_since_taken=lambda event: False,
    )
    return Replier(reply_graph(services), around, Inbox(progress), services.settings)


async def test_a_claimed_question_is_answered_rendered_and_marked(services: Services, fake_openai: FakeOpenAI):
    fake_openai.push(Reply("Call the cat Miso."))
    replier = replier_for(services)
    question = make_event("hey @Observer, what should I name my cat?", mentions_bot=True)
    await services.record.store_event(question, state="waiting")
    assert await replier.inbox.claim_queued(question.message_id, resumed=False)
    sink = RecordingSink()

    reply = await replier.run(ReplyTo(question, sink, track=True))

    assert reply.outcome.reply == "Call the cat Miso." and not reply.paused
    assert [sink.shown[i] for i in reply.posted_ids] == ["Call the cat Miso."]
    assert await replier.inbox.progress.state(question.message_id) == "answered"
    assert await replier.inbox.progress.holders({question.message_id}) == {question.message_id: None}


async def test_an_unaddressed_message_posts_nothing_and_is_skipped(services: Services, fake_openai: FakeOpenAI):
    replier = replier_for(services)
    chatter = make_event("lol", author="bob")
    await services.record.store_event(chatter, state="waiting")
    assert await replier.inbox.claim_queued(chatter.message_id, resumed=False)
    sink = RecordingSink()

    reply = await replier.run(ReplyTo(chatter, sink, track=True))

    assert reply.posted_ids == [] and sink.shown == {}
    assert fake_openai.requests == []
    assert await replier.inbox.progress.state(chatter.message_id) == "skipped"


class Gate:
    """A fence (discord_adapter/stream.py) that can be shut: as a process frozen past its lease sees it."""

    def __init__(self) -> None:
        self.shut = False
        self.opened = asyncio.Event()

    def fenced(self) -> bool:
        return self.shut

    async def steady(self) -> None:
        await self.opened.wait()

    def open(self) -> None:
        self.shut = False
        self.opened.set()


class ShutAfterFirstPost(RecordingSink):
    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    async def send(self, content: str, first: bool) -> Any:
        posted = await super().send(content, first)
        self.gate.shut = True  # every later call waits at the fence
        return posted


async def test_a_run_stopped_while_delivering_makes_no_more_edits(services: Services, fake_openai: FakeOpenAI):
    """Cancelled after its stream ended (here while reading the footer setting): the progress edit its
    renderer was waiting to make must not go out later. It did, once a frozen process was thawed, and
    overwrote the answer of the process that had taken the question over."""
    fake_openai.token_delay_s = 0.02
    fake_openai.push(Reply("Call the cat Miso, or Mochi, or Tofu, whichever suits her best."))
    replier = replier_for(services)
    gate = Gate()
    replier.around.budget.fence = gate
    footer_asked = asyncio.Event()

    async def hold_the_footer(event: Any) -> bool:
        footer_asked.set()
        await asyncio.Event().wait()  # until cancelled
        return True

    replier.around = dataclasses.replace(replier.around, shows_footer=hold_the_footer)
    question = make_event("hey @Observer, what should I name my cat?", mentions_bot=True)
    await services.record.store_event(question, state="waiting")
    assert await replier.inbox.claim_queued(question.message_id, resumed=False)
    sink = ShutAfterFirstPost(gate)

    running = asyncio.create_task(replier.run(ReplyTo(question, sink, track=True)))
    await footer_asked.wait()
    shown = dict(sink.shown)
    assert len(shown) == 1 and "Tofu" not in next(iter(shown.values())), "the first post had only the start"
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    gate.open()
    for _ in range(50):  # room for a stray edit: the budget grants at once (interval 0)
        await asyncio.sleep(0.01)

    assert sink.shown == shown


class SlowPosts(RecordingSink):
    """A post that is on its way to Discord while the run is stopped."""

    def __init__(self) -> None:
        super().__init__()
        self.posting = asyncio.Event()
        self.arrive = asyncio.Event()
        self.calls = 0

    async def send(self, content: str, first: bool) -> Any:
        self.calls += 1
        self.posting.set()
        await self.arrive.wait()
        return await super().send(content, first)

    async def edit(self, handle: Any, content: str) -> None:
        self.calls += 1
        await super().edit(handle, content)


async def test_a_run_stopped_while_its_first_part_is_being_posted_keeps_that_part_and_calls_no_more():
    """The post reaches Discord whatever happens here: cut off, its handle would be lost and a retry
    would post the answer twice. It finishes; nothing starts after it."""
    sink = SlowPosts()
    renderer = StreamRenderer(sink, ChannelBudget(0.0), 7)
    renderer.feed("The cat is called")
    await sink.posting.wait()
    renderer.feed(" Miso, and she is very fond of naps.")
    renderer.abandon()
    sink.arrive.set()
    for _ in range(50):  # room for a stray edit, were the pump still going
        await asyncio.sleep(0.01)
    assert [handle.id for handle, _ in renderer.sent] == list(sink.shown)
    assert list(sink.shown.values()) == ["The cat is called ▌"] and sink.calls == 1
