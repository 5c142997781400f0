"""Access and quotas through the whole reply graph (issue J): what is refused costs no model call, the
judge included; quotas count tokens and cost as well as replies; the ledger starts from the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.services import reread_quotas
from agent.state import Context
from tests.conftest import make_event, make_services, models_toml, reply_graph
from tests.fakes.openai_server import FakeOpenAI, Reply

BOT = "Observer"


async def ask(services: Any, text: str, context: Context | None = None, **event: Any) -> dict[str, Any]:
    message = make_event(text, **event)
    return dict(await reply_graph(services).ainvoke({"event": message}, context=context or Context(bot_name=BOT)))


async def test_a_token_quota_stops_the_judge_too(
    tmp_path: Path, database_url: str, embedder: Any, fake_openai: FakeOpenAI
) -> None:
    toml = "[quotas]\ntokens_per_day = 30\n" + models_toml(fake_openai.base_url)
    services = await make_services(tmp_path, database_url, embedder, toml, auto_every_n=1)
    try:
        fake_openai.push(Reply("A long enough answer to spend the day's tokens, and then some more words."))
        first = await ask(services, f"@{BOT} tell me everything", author="kenji", mentions_bot=True)
        assert first["reply"] and first["usage"]["tokens_in"] + first["usage"]["tokens_out"] >= 30
        calls = len(fake_openai.chat_requests())
        # Not addressed, in auto mode: the judge would be asked; over the quota it is not, and nothing is said.
        chatter = await ask(
            services, "anyone know a good ramen place?", Context(bot_name=BOT, channel_mode="auto"), author="kenji"
        )
        assert chatter["decision"].reason.startswith("quota:") and not chatter.get("member_note")
        addressed = await ask(services, f"@{BOT} one more thing", author="kenji", mentions_bot=True)
        assert "tokens today" in addressed["member_note"] and not addressed.get("reply")
        assert len(fake_openai.chat_requests()) == calls, "no model call at all"
        other = await ask(services, f"@{BOT} こんにちは、元気？", author="yui", mentions_bot=True)
        assert other["reply"], "another member's quota is their own"
    finally:
        await services.close()


async def test_the_ledger_starts_from_the_record(
    tmp_path: Path, database_url: str, embedder: Any, fake_openai: FakeOpenAI
) -> None:
    """A restart resets no one's quota."""
    toml = "[quotas]\nreplies_per_hour = 1\n" + models_toml(fake_openai.base_url)
    services = await make_services(tmp_path, database_url, embedder, toml)
    try:
        assert (await ask(services, f"@{BOT} hi", author="olga", mentions_bot=True))["reply"]
    finally:
        await services.close()
    restarted = await make_services(tmp_path, database_url, embedder, toml)
    try:
        again = await ask(restarted, f"@{BOT} привет ещё раз", author="olga", mentions_bot=True)
        assert not again.get("reply") and "1 of 1 replies this hour" in again["member_note"]
    finally:
        await restarted.close()


async def test_a_server_that_moves_to_another_process_brings_its_members_usage(
    tmp_path: Path, database_url: str, embedder: Any, fake_openai: FakeOpenAI
) -> None:
    """Several processes (issue S): the process that takes a shard over reads the quota ledger again."""
    toml = "[quotas]\nreplies_per_hour = 1\n" + models_toml(fake_openai.base_url)
    old_holder = await make_services(tmp_path, database_url, embedder, toml)
    (tmp_path / "other").mkdir()
    new_holder = await make_services(tmp_path / "other", database_url, embedder, toml)
    try:
        assert (await ask(old_holder, f"@{BOT} hi", author="olga", mentions_bot=True))["reply"]
        await old_holder.record.flush()
        await reread_quotas(new_holder.gate, new_holder.record)
        again = await ask(new_holder, f"@{BOT} привет ещё раз", author="olga", mentions_bot=True)
        assert not again.get("reply") and "1 of 1 replies this hour" in again["member_note"]
    finally:
        await old_holder.close()
        await new_holder.close()
