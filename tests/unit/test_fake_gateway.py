"""The fake Discord's gateway is as strict as Discord's about sharding, and as generous: a shard
identified twice (two processes started with one layout) delivers its events to both sessions."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_server import FakeDiscord

SHARDS = 2  # the fake Discord's gateway (the `discord` fixture in tests/conftest.py)


async def identify(http: aiohttp.ClientSession, discord: FakeDiscord, shard: Any) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(discord.gateway_url)
    assert json.loads((await ws.receive()).data)["op"] == 10  # HELLO
    d: dict[str, Any] = {"token": "fake-token", "intents": 0, "properties": {}}
    if shard is not None:
        d["shard"] = shard
    await ws.send_str(json.dumps({"op": 2, "d": d}))
    return ws


async def next_dispatch(ws: aiohttp.ClientWebSocketResponse, name: str) -> dict[str, Any]:
    while True:
        msg = await ws.receive(timeout=60)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        payload = json.loads(msg.data)
        if payload.get("t") == name:
            return payload


async def test_two_sessions_of_one_shard_both_receive_its_events(discord: FakeDiscord):
    home = discord.shard_of(discord.guild_id)
    async with aiohttp.ClientSession() as http:
        first = await identify(http, discord, [home, 2])
        second = await identify(http, discord, [home, 2])
        ready = [(await next_dispatch(ws, "READY"))["d"]["session_id"] for ws in (first, second)]
        assert ready[0] != ready[1], "each IDENTIFY gets its own session"
        sent = await discord.send_as(discord.add_user("alice"), "hello", channel=discord.general)
        for ws in (first, second):
            assert (await next_dispatch(ws, "MESSAGE_CREATE"))["d"]["id"] == sent["id"]
        assert not first.closed and not second.closed, "neither session was closed for the other"
        await first.close()
        await second.close()


@pytest.mark.parametrize(("shard", "code"), [(None, 4011), ([0, 1], 4011), ([2, 2], 4010), ([0, 3], 4010), ("0", 4010)])
async def test_an_identify_that_does_not_fit_the_shard_count_is_refused(discord: FakeDiscord, shard: Any, code: int):
    async with aiohttp.ClientSession() as http:
        ws = await identify(http, discord, shard)
        msg = await ws.receive(timeout=60)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == code
    assert discord.identifies == 0
