"""Character cards load as SillyTavern loads them: an empty or malformed optional field gets its
default and a warning naming the field; only a name is required. Shapes from public bug reports:
chub.ai writes `"character_book": null` and lorebook entries as an object; AICharED writes `""` for
numbers (`depth_prompt.depth`); cards carry `"talkativeness": ""`; `position` as text or a number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.memory.persona_files import PersonaCard, PersonaFileError, read_persona_or_knowledge
from tests.fakes.documents import png_card


def v2(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Seraphina",
        "description": "{{char}} guards the forest.",
        "personality": "gentle",
        "scenario": "",
        "first_mes": "Hello.",
        "mes_example": "",
        "creator_notes": "",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": [],
        "tags": [],
        "creator": "",
        "character_version": "",
        "extensions": {"talkativeness": "0.5", "fav": False, "world": ""},
    }
    data.update(fields)
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}


def load(tmp_path: Path, card: dict[str, Any], as_png: bool = False) -> PersonaCard:
    path = tmp_path / ("card.png" if as_png else "card.json")
    if as_png:
        path.write_bytes(png_card(card))
    else:
        path.write_text(json.dumps(card), encoding="utf-8")
    loaded = read_persona_or_knowledge(path)
    assert isinstance(loaded, PersonaCard)
    return loaded


@pytest.mark.parametrize("as_png", [False, True])
def test_empty_talkativeness_loads_with_a_warning_and_the_default(tmp_path: Path, as_png: bool):
    card = load(tmp_path, v2(extensions={"talkativeness": ""}), as_png)
    assert card.name == "Seraphina" and card.talkativeness == 0.5
    assert [w.split(": ", 1)[1] for w in card.warnings] == [
        "extensions.talkativeness: '' is not a number from 0 to 1; using 0.5"
    ]


@pytest.mark.parametrize(
    ("fields", "field", "check"),
    [
        ({"extensions": {"talkativeness": "chatty"}}, "extensions.talkativeness", lambda c: c.talkativeness == 0.5),
        ({"extensions": {"talkativeness": 3}}, "extensions.talkativeness", lambda c: c.talkativeness == 1.0),
        ({"extensions": {"talkativeness": True}}, "extensions.talkativeness", lambda c: c.talkativeness == 0.5),
        ({"personality": ["kind", "brave"]}, "personality", lambda c: "kind\nbrave" in c.style),
        ({"personality": {"mood": "sad"}}, "personality", lambda c: c.style == ""),
        ({"scenario": 42}, None, lambda c: "42" in c.description),
        ({"mes_example": False}, "mes_example", lambda c: c.examples == ["{{char}}: Hello."]),
        ({"first_mes": ["hi"]}, "first_mes", lambda c: c.examples[0] == "{{char}}: hi"),
        ({"extensions": {"observer_model": 7}}, "extensions.observer_model", lambda c: c.model == ""),
        ({"character_book": "none"}, "character_book", lambda c: c.lore == []),
        ({"character_book": {"entries": 5}}, "character_book.entries", lambda c: c.lore == []),
        (
            {"description": "", "personality": "", "scenario": ""},
            "description",
            lambda c: c.description == "Seraphina.",
        ),
    ],
)
def test_each_malformed_optional_field_warns_and_the_card_loads(
    tmp_path: Path, fields: dict[str, Any], field: str | None, check: Any
):
    card = load(tmp_path, v2(**fields))
    assert card.name == "Seraphina"
    assert check(card)
    if field is not None:
        assert any(f": {field}:" in w for w in card.warnings), card.warnings


def test_chub_shapes_load(tmp_path: Path):
    # character_book null (chub.ai); AICharED's "" for a number; unknown fields anywhere.
    card = load(
        tmp_path,
        v2(
            character_book=None,
            extensions={"depth_prompt": {"prompt": "", "depth": ""}, "talkativeness": "0.7", "chub": {"id": 1}},
            alternate_greetings=None,
            tags=None,
        ),
    )
    assert card.talkativeness == 0.7 and card.lore == [] and card.warnings == []


def test_lorebook_entries_as_an_object_and_malformed_entry_fields(tmp_path: Path):
    book = {
        "name": "chub lorebook",
        "entries": {
            "0": {"keys": "forest, glade", "content": "The glade is warded.", "position": "before_char"},
            "1": {"keys": ["wolf", 3], "content": "Wolves avoid the glade.", "insertion_order": "high"},
            "2": {"keys": ["moon"], "content": "Two moons.", "extensions": {"selectiveLogic": 9, "scan_depth": -4}},
            "3": {"keys": ["x"], "content": 12},
            "4": "not an entry",
            "5": {"keys": ["y"], "content": "Flagged.", "constant": "maybe", "case_sensitive": "yes", "position": 1},
        },
    }
    card = load(tmp_path, v2(character_book=book))
    texts = [e.text for e in card.lore]
    assert texts == ["The glade is warded.", "Wolves avoid the glade.", "Two moons.", "Flagged."]
    assert card.lore[0].activation().keys == ("forest", "glade")
    assert card.lore[1].activation().keys == ("wolf",) and card.lore[1].activation().order == 100
    assert card.lore[2].activation().logic == 0 and card.lore[2].activation().scan_depth is None
    assert card.lore[3].activation().constant is False and card.lore[3].activation().case_sensitive is True
    warned = "\n".join(card.warnings)
    for field in (
        "character_book.entries[1].keys",
        "character_book.entries[1].insertion_order",
        "character_book.entries[2].selectiveLogic",
        "character_book.entries[2].scanDepth",
        "character_book.entries[3].content",
        "character_book.entries[4]",
        "character_book.entries[5].constant",
    ):
        assert f"{field}:" in warned, field


def test_pygmalion_names_and_v1_flat_cards(tmp_path: Path):
    old = load(tmp_path, {"char_name": "Tom", "char_persona": "A lighthouse keeper.", "char_greeting": "Ahoy."})
    assert (
        old.name == "Tom" and old.description == "A lighthouse keeper." and old.example_turns() == [("char", "Ahoy.")]
    )


def test_a_v2_card_whose_data_is_missing_reads_the_top_level_fields(tmp_path: Path):
    card = load(tmp_path, {"spec": "chara_card_v2", "name": "Flat", "description": "Flat card.", "data": None})
    assert card.name == "Flat" and any(": data:" in w for w in card.warnings)


@pytest.mark.parametrize(
    "card",
    [
        {"spec": "chara_card_v2", "data": {"name": "", "description": "x"}},  # SillyTavern refuses it too
        {"spec": "chara_card_v2", "data": {"description": "x"}},
        {"description": "no name at all"},
    ],
)
def test_a_card_without_a_name_is_refused_naming_the_field(tmp_path: Path, card: dict[str, Any]):
    path = tmp_path / "nameless.json"
    path.write_text(json.dumps(card))
    with pytest.raises(PersonaFileError, match=r"nameless.json: name: is missing or empty"):
        read_persona_or_knowledge(path)


def test_a_cards_example_dialogue_becomes_alternating_turns_as_read_from_the_file(tmp_path: Path):
    """The card as SillyTavern writes it, read the way `observer persona ingest` reads it."""
    dialogue = "<START>\n{{user}}: Hello!\n{{char}}: Welcome to the Lantern Leaf! Tea? 🍵\n<START>\n{{user}}: Cat?\n{{char}}: Biscuit!"
    card = load(tmp_path, v2(name="Mika", mes_example=dialogue, first_mes="Welcome!"))
    assert card.example_turns() == [
        ("char", "Welcome!"),
        ("user", "Hello!"),
        ("char", "Welcome to the Lantern Leaf! Tea? 🍵"),
        ("user", "Cat?"),
        ("char", "Biscuit!"),
    ]
    assert "Lantern Leaf" not in card.prompt_text(), "dialogue is turns, not system-prompt text"
    stored_before = PersonaCard("Mika", "A host.", examples=["{{user}}: Hi\nMika: Welcome!", "User: a\nMika: b"])
    assert stored_before.example_turns() == [("user", "Hi"), ("char", "Welcome!"), ("user", "a"), ("char", "b")]
