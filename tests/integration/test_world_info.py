"""SillyTavern World Info through the real ingest, Chroma store and reply graph: a standalone book
attached to a server or one channel, activation by its own rules, macros filled for the member."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.memory.ingest import ingest_path
from agent.memory.scopes import guild_scope
from agent.services import Services
from agent.state import Context
from tests.conftest import make_event, run_graph, stable_id
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer

ELDORIA = Path(__file__).resolve().parents[1] / "data" / "world_info" / "eldoria.json"
MIKA = Path(__file__).resolve().parents[1] / "data" / "memory" / "mika.toml"


async def test_a_world_book_attached_to_one_channel_fires_there_with_macros_filled(
    services: Services, fake_openai: FakeOpenAI, tmp_path: Path
):
    guild = stable_id("guild", "test")
    shutil.copy(MIKA, tmp_path / "mika.toml")
    await ingest_path(services.personas, services.memory, tmp_path / "mika.toml", scope=guild_scope(guild))
    shutil.copy(ELDORIA, tmp_path / "eldoria.json")
    lore_channel = stable_id("channel", "tavern")
    report = await ingest_path(
        services.personas, services.memory, tmp_path / "eldoria.json", scope=guild_scope(guild), channel=lore_channel
    )
    assert report.world_books == 1 and report.chunks == 16 and report.warnings == []

    fake_openai.push(Reply("Eldoria is lovely."))
    ask = make_event(
        "@Observer tell me about Eldoria and Silverwood elves", author="ana", channel="tavern", mentions_bot=True
    )
    _, state = await run_graph(services, ask, Context(persona="Mika"))
    system = fake_openai.chat_requests()[-1]["messages"][0]["content"]
    assert (
        "Eldoria is an ancient kingdom of rolling hills where Mika was born. ana arrived there only recently." in system
    )
    assert "The elves of Silverwood guard the Moonwell." in system
    assert "two moons, Aster and Vey" in system  # constant
    assert "{{" not in system

    fake_openai.push(Reply("Hm?"))
    elsewhere = make_event("@Observer tell me about Eldoria", author="ana", channel="general", mentions_bot=True)
    await run_graph(services, elsewhere, Context(persona="Mika"))
    system = fake_openai.chat_requests()[-1]["messages"][0]["content"]
    assert "rolling hills" not in system and "two moons" not in system, "the book is attached to #tavern only"

    # The same file again for the whole server: both attachments live side by side.
    again = await ingest_path(services.personas, services.memory, tmp_path / "eldoria.json", scope=guild_scope(guild))
    assert again.added == 16
    fake_openai.push(Reply("Yes."))
    await run_graph(services, elsewhere, Context(persona="Mika"))
    assert "rolling hills" in fake_openai.chat_requests()[-1]["messages"][0]["content"]
    assert state["persona"] == "Mika"


async def test_a_bomb_is_refused_in_one_line_and_the_next_ingest_works(tmp_path: Path):
    from tests.fakes.documents import ztxt_bomb_card

    (tmp_path / "bomb.png").write_bytes(ztxt_bomb_card(1 << 30))
    code, out, err = await observer(tmp_path, "persona", "ingest", str(tmp_path / "bomb.png"))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "bomb.png: PNG chunk zTXt: the inflated text is over the limit" in lines[0]
    assert "OBSERVER_CARD_PNG_TEXT_MAX_BYTES" in lines[0]
    lenient = tmp_path / "lenient.json"
    lenient.write_text(
        '{"spec": "chara_card_v2", "data": {"name": "Sera", "description": "x", "extensions": {"talkativeness": ""}}}'
    )
    code, out, err = await observer(tmp_path, "persona", "ingest", str(lenient))
    assert code == 0, err
    assert "personas Sera" in out
    assert "warning: " in err and "extensions.talkativeness" in err


async def test_keyed_world_info_comes_in_only_by_its_rules_and_vectorized_entries_also_by_meaning(
    services: Services, fake_openai: FakeOpenAI, tmp_path: Path
):
    import json

    guild = stable_id("guild", "test")
    shutil.copy(MIKA, tmp_path / "mika.toml")
    await ingest_path(services.personas, services.memory, tmp_path / "mika.toml", scope=guild_scope(guild))
    book = {
        "entries": {
            "0": {"uid": 0, "key": ["ORB"], "caseSensitive": True, "content": "The ORB is the royal treasury's seal."},
            "1": {
                "uid": 1,
                "key": ["zz-never"],
                "vectorized": True,
                "content": "The royal treasury is kept in a vault.",
            },
            "2": {"uid": 2, "key": ["/(?<broken/"], "content": "The treasury's gold is counted at dawn by the seal."},
        }
    }
    (tmp_path / "orb.json").write_text(json.dumps(book), encoding="utf-8")
    report = await ingest_path(services.personas, services.memory, tmp_path / "orb.json", scope=guild_scope(guild))
    assert report.world_books == 1 and any("uid 2" in w and "/(?<broken/" in w for w in report.warnings)

    fake_openai.push(Reply("Hm."))
    ask = make_event(
        "@Observer what is the orb, the royal treasury's seal? and does your cat sleep somewhere warm?",
        author="ana",
        mentions_bot=True,
    )
    await run_graph(services, ask, Context(persona="Mika"))
    system = fake_openai.chat_requests()[-1]["messages"][0]["content"]
    assert "The ORB is the royal treasury's seal." not in system  # case-sensitive key absent: not by meaning either
    assert "counted at dawn" not in system  # an uncompilable key never fires, and is not found by meaning
    assert "kept in a vault" in system  # vectorized: found by meaning without its key
    assert "Biscuit" in system  # Observer's own lore is still found by meaning

    fake_openai.push(Reply("Yes."))
    await run_graph(
        services, make_event("@Observer the ORB?", author="ana", mentions_bot=True), Context(persona="Mika")
    )
    assert "The ORB is the royal treasury's seal." in fake_openai.chat_requests()[-1]["messages"][0]["content"]


async def test_persona_search_shows_lore_with_macros_filled_as_the_reply_gets_it(tmp_path: Path):
    folder = tmp_path / "mika"
    folder.mkdir()
    shutil.copy(MIKA, folder / "mika.toml")
    shutil.copy(ELDORIA, folder / "eldoria.json")
    code, out, err = await observer(tmp_path, "persona", "ingest", str(folder))
    assert code == 0, err
    code, out, err = await observer(
        tmp_path, "persona", "search", "Tell me about Eldoria", "--persona", "Mika", "--user", "ana"
    )
    assert code == 0, err
    assert "Eldoria is an ancient kingdom of rolling hills where Mika was born. ana arrived" in out
    assert "{{" not in out
