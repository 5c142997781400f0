"""Persona files, SillyTavern cards and documents parse into what an operator wrote, or fail naming the field."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from agent.memory.chunks import split_paragraphs
from agent.memory.persona_files import KnowledgeDoc, PersonaCard, PersonaFileError, read_persona_or_knowledge
from agent.memory.world_info.macros import MacroContext, fill_macros
from tests.fakes.documents import png_card, text_pdf

DATA = Path(__file__).resolve().parents[1] / "data" / "memory"

V2_CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Seraphina",
        "description": "{{char}} is a forest guardian who heals travellers.",
        "personality": "gentle, protective",
        "scenario": "{{user}} wakes up in {{char}}'s glade.",
        "first_mes": "You're awake! Don't move too fast.",
        "mes_example": "<START>\n{{user}}: Who are you?\n{{char}}: I keep this forest safe.",
        "character_book": {
            "entries": [
                {"keys": ["glade", "clearing"], "content": "The glade is warded by {{char}}'s magic.", "enabled": True},
                {"keys": ["wolf"], "content": "Wolves avoid the glade.", "enabled": False},
                {"keys": [], "content": "Seraphina is four hundred years old.", "constant": True},
            ]
        },
    },
}


def test_toml_persona_reads_every_field():
    card = read_persona_or_knowledge(DATA / "mika.toml")
    assert isinstance(card, PersonaCard)
    assert card.name == "Mika" and "Lantern Leaf" in card.description and "tea metaphors" in card.style
    assert any("hojicha" in e for e in card.examples)
    biscuit = card.lore[0]
    assert "Biscuit" in biscuit.text and biscuit.keywords == ["Biscuit", "ビスケット"]
    assert "Speaking style:" in card.prompt_text() and any("hojicha" in text for _, text in card.example_turns())


def test_markdown_front_matter_persona_uses_the_body_as_description(tmp_path: Path):
    path = tmp_path / "kuro.md"
    path.write_text(
        "---\nname: Kuro\nstyle: terse\nlore:\n  - text: Kuro was built in Osaka.\n    keywords: [osaka, 大阪]\n---\n"
        "Kuro is a retired delivery robot who now repairs bicycles.\n",
        encoding="utf-8",
    )
    card = read_persona_or_knowledge(path)
    assert isinstance(card, PersonaCard)
    assert card.description.startswith("Kuro is a retired delivery robot")
    assert card.lore[0].keywords == ["osaka", "大阪"]


def test_markdown_without_front_matter_is_a_knowledge_document():
    doc = read_persona_or_knowledge(DATA / "knowledge" / "harborlight_guide.md")
    assert isinstance(doc, KnowledgeDoc)
    assert any("214 steps" in c for c in doc.chunks)
    # A heading travels with the paragraph under it instead of becoming a chunk of its own.
    assert not any(c.startswith("#") and "\n" not in c for c in doc.chunks)


def test_sillytavern_png_card_with_lorebook(tmp_path: Path):
    path = tmp_path / "seraphina.png"
    path.write_bytes(png_card(V2_CARD))
    card = read_persona_or_knowledge(path)
    assert isinstance(card, PersonaCard)
    assert card.name == "Seraphina"
    # {{char}} is the card's own name; {{user}} is the member, known when a prompt is built.
    assert "Seraphina is a forest guardian" in card.description
    assert "{{user}} wakes up in Seraphina's glade" in card.description
    assert "Ana wakes up in Seraphina's glade" in fill_macros(
        card.description, MacroContext(char="Seraphina", user="Ana")
    )
    assert card.style == "gentle, protective"
    assert any("I keep this forest safe" in e for e in card.examples)
    assert [(e.text, e.keywords, e.activation().constant) for e in card.lore] == [
        ("The glade is warded by Seraphina's magic.", ["glade", "clearing"], False),
        ("Seraphina is four hundred years old.", [], True),  # constant: always on; the disabled entry dropped
    ]


def test_ccv3_chunk_wins_over_chara(tmp_path: Path):
    v3 = {"spec": "chara_card_v3", "data": {**V2_CARD["data"], "name": "Sera Three"}}  # type: ignore[dict-item]
    blob = png_card(V2_CARD)
    extra = png_card(v3, key="ccv3")
    # Splice the ccv3 tEXt chunk of the second image into the first, before IEND.
    ccv3_chunk = extra[extra.index(b"tEXt") - 4 : extra.index(b"IDAT") - 4]
    blob = blob[: blob.index(b"IEND") - 4] + ccv3_chunk + blob[blob.index(b"IEND") - 4 :]
    path = tmp_path / "card.png"
    path.write_bytes(blob)
    card = read_persona_or_knowledge(path)
    assert isinstance(card, PersonaCard) and card.name == "Sera Three"


def test_v1_json_card(tmp_path: Path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"name": "Old Tom", "description": "A lighthouse keeper.", "personality": "grumpy"}))
    card = read_persona_or_knowledge(path)
    assert isinstance(card, PersonaCard) and card.name == "Old Tom" and card.style == "grumpy"


def test_pdf_document_is_read_through_langchain(tmp_path: Path):
    path = tmp_path / "schedule.pdf"
    path.write_bytes(text_pdf(["Ferry timetable", "The winter ferry leaves at 9:15 on Sundays."]))
    doc = read_persona_or_knowledge(path)
    assert isinstance(doc, KnowledgeDoc) and "9:15 on Sundays" in " ".join(doc.chunks)


def test_a_pdf_without_text_is_refused_naming_why(tmp_path: Path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(text_pdf([]))
    with pytest.raises(PersonaFileError) as caught:
        read_persona_or_knowledge(path)
    assert f"{path}: pdf: has no text to read" in str(caught.value) and "OCR" in str(caught.value)


@pytest.mark.parametrize(
    ("filename", "content", "field"),
    [
        ("a.toml", 'description = "no name"', "name"),
        ("b.toml", 'name = "B"\ndescription = "x"\n[[lore]]\nkeywords = ["k"]', "lore[0].text"),
        ("c.toml", 'name = "C"\ndescription = "x"\nlore = [{text = "t", keywords = 3}]', "lore[0].keywords"),
        ("d.toml", 'name = "D"\ndescription = "x"\nmood = "sad"', "mood"),
        ("e.toml", 'name = "E"\ndescription = ', "toml"),
        ("f.json", '{"spec": "chara_card_v2", "data": {"description": "no name"}}', "name"),
        ("g.md", "---\nname: G\nstyle: [unclosed\n---\nbody", "front matter"),
        # Found by a tester: an empty document was counted as ingested (0 chunks), though refused in the README.
        ("h.md", "", "text"),
        ("i.txt", " \n\n\t\n", "text"),
        ("j.md", "---\ntags: [a]\n---\n\n", "text"),
    ],
)
def test_malformed_files_name_the_file_and_the_field(tmp_path: Path, filename: str, content: str, field: str):
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PersonaFileError) as caught:
        read_persona_or_knowledge(path)
    assert str(path) in str(caught.value) and f": {field}:" in str(caught.value)


def test_png_without_a_card_or_with_broken_json(tmp_path: Path):
    plain = tmp_path / "plain.png"
    plain.write_bytes(png_card({}, key="Software"))
    with pytest.raises(PersonaFileError, match="chara"):
        read_persona_or_knowledge(plain)
    broken = tmp_path / "broken.png"
    blob = png_card(V2_CARD).replace(base64.b64encode(json.dumps(V2_CARD).encode())[:8], b"!!!!!!!!")
    broken.write_bytes(blob)
    with pytest.raises(PersonaFileError, match="broken.png: chara"):
        read_persona_or_knowledge(broken)


def test_long_japanese_paragraph_is_cut_at_sentence_ends():
    text = "。".join(["お茶はとてもおいしいです"] * 120) + "。"
    chunks = split_paragraphs(text, max_chars=200)
    assert len(chunks) > 5 and all(len(c) <= 200 for c in chunks)
    assert all(c.endswith("。") for c in chunks)
    assert "".join(chunks) == text


def test_toml_examples_as_tables_or_dialogue_become_turns(tmp_path: Path):
    path = tmp_path / "rin.toml"
    path.write_text(
        'name = "Rin"\ndescription = "A cook."\nexamples = ["{{user}}: hi\\n{{char}}: Ahoy, hungry?", '
        '{ user = "What is for dinner?", bot = "Ramen." }]\n',
        encoding="utf-8",
    )
    card = read_persona_or_knowledge(path)
    assert isinstance(card, PersonaCard)
    assert card.example_turns() == [
        ("user", "hi"),
        ("char", "Ahoy, hungry?"),
        ("user", "What is for dinner?"),
        ("char", "Ramen."),
    ]
