"""Hostile persona files are refused with one line naming the field and the cap (and the setting
that raises it), before they fill memory or every prompt: zlib bombs in PNG text chunks (zTXt and
compressed iTXt), oversized text chunks, too many chunks, huge fields, huge lorebooks, deep JSON,
PDFs with too many pages or too much text."""

from __future__ import annotations

import base64
import json
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from agent.memory.persona_files import FileLimits, PersonaCard, PersonaFileError, WorldBook, read_persona_or_knowledge
from agent.settings import Settings
from bench.card_bombs import measure
from tests.fakes.documents import itxt_bomb_card, pdf_pages, png_card, png_with, ztxt_bomb_card

SMALL = FileLimits(
    file_bytes=2_000_000,
    text_file_bytes=1_000_000,
    png_text_bytes=100_000,
    png_chunks=50,
    field_chars=5_000,
    lore_entries=20,
    lore_chars=20_000,
    pdf_pages=3,
    document_chars=10_000,
)


def card(description: str = "A card.", entries: list[Any] | None = None) -> dict[str, Any]:
    data = {"name": "Bomb", "description": description, "character_book": {"entries": entries or []}}
    return {"spec": "chara_card_v2", "data": data}


def refused(tmp_path: Path, name: str, blob: bytes, limits: FileLimits = SMALL) -> str:
    path = tmp_path / name
    path.write_bytes(blob)
    with pytest.raises(PersonaFileError) as caught:
        read_persona_or_knowledge(path, limits)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"{path}: ")
    return line


def test_a_ztxt_zlib_bomb_stops_at_the_cap(tmp_path: Path):
    line = refused(tmp_path, "z.png", ztxt_bomb_card(50_000_000))
    assert "PNG chunk zTXt: the inflated text is over the limit of 100,000 (OBSERVER_CARD_PNG_TEXT_MAX_BYTES)" in line


def test_a_compressed_itxt_bomb_stops_at_the_cap(tmp_path: Path):
    line = refused(tmp_path, "i.png", itxt_bomb_card(50_000_000))
    assert "PNG chunk iTXt: the inflated text is over the limit of 100,000 (OBSERVER_CARD_PNG_TEXT_MAX_BYTES)" in line


def test_text_chunks_count_together_against_the_cap(tmp_path: Path):
    chunk = (b"tEXt", b"junk\0" + b"x" * 60_000)
    line = refused(tmp_path, "t.png", png_with([chunk, chunk]))
    assert "PNG chunk tEXt: 60,005 bytes of text is over the limit" in line


def test_too_many_chunks(tmp_path: Path):
    line = refused(tmp_path, "c.png", png_with([(b"tEXt", b"k\0v")] * 100))
    assert "PNG chunks: more than 50 chunks is over the limit of 50 (OBSERVER_CARD_PNG_MAX_CHUNKS)" in line


@pytest.mark.parametrize("suffix", [".png", ".json", ".toml", ".md", ".txt", ".pdf"])
def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path, suffix: str):
    line = refused(tmp_path, f"big{suffix}", b"x" * 2_000_001)
    assert "file: 2,000,001 bytes is over the limit of 2,000,000 (OBSERVER_PERSONA_FILE_MAX_BYTES)" in line


@pytest.mark.parametrize("suffix", [".json", ".toml", ".md", ".markdown", ".txt"])
def test_a_text_file_has_the_lower_text_cap(tmp_path: Path, suffix: str):
    line = refused(tmp_path, f"big{suffix}", b"x" * 1_000_001)
    assert "file: 1,000,001 bytes of text is over the limit of 1,000,000 (OBSERVER_PERSONA_TEXT_FILE_MAX_BYTES)" in line


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_images_and_pdfs_keep_the_file_cap(tmp_path: Path, suffix: str):
    line = refused(tmp_path, f"big{suffix}", b"x" * 1_000_001)  # under the file cap: read, and refused as damaged
    assert "OBSERVER_PERSONA_TEXT_FILE_MAX_BYTES" not in line and "OBSERVER_PERSONA_FILE_MAX_BYTES" not in line


@pytest.mark.parametrize("field", ["description", "personality", "scenario", "first_mes", "mes_example"])
def test_each_card_field_is_capped(tmp_path: Path, field: str):
    data = card()
    data["data"][field] = "y" * 5_001
    line = refused(tmp_path, "f.json", json.dumps(data).encode())
    assert f": {field}: 5,001 characters is over the limit of 5,000 (OBSERVER_CARD_FIELD_MAX_CHARS)" in line


def test_a_big_description_inside_a_png_card(tmp_path: Path):
    line = refused(tmp_path, "d.png", png_card(card("z" * 6_000)))
    assert ": description: 6,000 characters is over the limit of 5,000" in line


def test_lorebook_entry_count_entry_size_and_total_are_capped(tmp_path: Path):
    many = [{"keys": [f"k{i}"], "content": f"entry {i}"} for i in range(21)]
    line = refused(tmp_path, "n.json", json.dumps(card(entries=many)).encode())
    assert "character_book.entries: 21 entries is over the limit of 20 (OBSERVER_LORE_MAX_ENTRIES)" in line
    big = [{"keys": ["k"], "content": "w" * 5_001}]
    line = refused(tmp_path, "b.json", json.dumps(card(entries=big)).encode())
    assert "character_book.entries[0].content: 5,001 characters is over the limit of 5,000" in line
    total = [{"keys": [f"k{i}"], "content": "v" * 4_000} for i in range(6)]
    line = refused(tmp_path, "t.json", json.dumps(card(entries=total)).encode())
    assert (
        "character_book.entries: the lore's text altogether is over the limit of 20,000 (OBSERVER_LORE_MAX_CHARS)"
        in line
    )


def test_a_standalone_world_info_file_and_our_own_lore_are_capped_too(tmp_path: Path):
    book = {"entries": {str(i): {"key": ["k"], "content": "c"} for i in range(21)}}
    assert "entries: 21 entries is over the limit of 20" in refused(tmp_path, "w.json", json.dumps(book).encode())
    toml = 'name = "T"\ndescription = "d"\n' + '[[lore]]\ntext = "t"\n' * 21
    assert "lore: 21 entries is over the limit of 20" in refused(tmp_path, "o.toml", toml.encode())


def test_json_toml_and_front_matter_nested_too_deeply_name_the_limit(tmp_path: Path):
    limit = f"more than about {sys.getrecursionlimit():,} levels"
    line = refused(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000)
    assert "json: is nested too deeply" in line and limit in line
    line = refused(tmp_path, "deep.toml", b'name = "D"\nx = ' + b"[" * 100_000 + b"]" * 100_000)
    assert "toml: is nested too deeply" in line and limit in line
    line = refused(tmp_path, "deep.md", b"---\nname: D\nx: " + b"[" * 100_000 + b"]" * 100_000 + b"\n---\nbody")
    assert "front matter: is nested too deeply" in line and limit in line
    deep = b"[" * 100_000 + b"]" * 100_000
    line = refused(tmp_path, "deep.png", png_with([(b"tEXt", b"chara\0" + base64.b64encode(deep))]), FileLimits())
    assert "chara: is nested too deeply" in line and limit in line


def test_pdf_pages_and_text_are_capped(tmp_path: Path):
    line = refused(tmp_path, "p.pdf", pdf_pages(4))
    assert "pdf: 4 pages is over the limit of 3 (OBSERVER_DOCUMENT_MAX_PAGES)" in line
    line = refused(tmp_path, "q.pdf", pdf_pages(3, "z" * 4_000))
    assert "pdf: the text of its first 3 pages is over the limit of 10,000 (OBSERVER_DOCUMENT_MAX_CHARS)" in line
    line = refused(tmp_path, "r.txt", b"word " * 2_001)
    assert "text: 10,005 characters is over the limit of 10,000" in line


def test_files_within_the_caps_still_load(tmp_path: Path):
    ok = tmp_path / "ok.png"
    ok.write_bytes(png_card(card("q" * 4_000, [{"keys": ["k"], "content": "fine"}] * 20)))
    loaded = read_persona_or_knowledge(ok, SMALL)
    assert isinstance(loaded, PersonaCard) and len(loaded.lore) == 20
    z = tmp_path / "z.png"  # a compressed card within the cap inflates as before
    z.write_bytes(png_with([(b"zTXt", b"chara\0\0" + zlib.compress(base64.b64encode(json.dumps(card()).encode())))]))
    assert isinstance(read_persona_or_knowledge(z, SMALL), PersonaCard)
    book = tmp_path / "w.json"
    book.write_text(json.dumps({"entries": {"0": {"key": ["k"], "content": "c"}}}))
    assert isinstance(read_persona_or_knowledge(book, SMALL), WorldBook)


def test_the_caps_are_settings_with_safe_defaults(monkeypatch: pytest.MonkeyPatch):
    assert FileLimits.from_settings(Settings()) == FileLimits()
    monkeypatch.setenv("OBSERVER_LORE_MAX_ENTRIES", "7")
    assert FileLimits.from_settings(Settings()).lore_entries == 7


def test_a_gigabyte_zlib_bomb_card_stays_far_under_300_mb(tmp_path: Path):
    """In a fresh process, with the default caps: peak memory over idle, from the kernel's own count."""
    path = tmp_path / "bomb.png"
    path.write_bytes(ztxt_bomb_card(1 << 30))
    got = measure(path)
    assert "OBSERVER_CARD_PNG_TEXT_MAX_BYTES" in str(got["answer"])
    assert float(got["peak"]) - float(got["idle"]) < 300  # type: ignore[arg-type]


def test_a_json_lorebook_of_empty_entries_just_under_the_text_cap_stays_under_300_mb(tmp_path: Path):
    """`{}` entries cost ~27x their size once parsed: the default text cap keeps the worst case bounded."""
    cap = FileLimits().text_file_bytes
    path = tmp_path / "empties.json"
    count = (cap - 20) // 3
    path.write_bytes(b'{"entries": [' + b"{}," * (count - 1) + b"{}]}")
    assert path.stat().st_size <= cap
    got = measure(path)
    assert "OBSERVER_LORE_MAX_ENTRIES" in str(got["answer"])  # read, counted, refused
    assert float(got["peak"]) - float(got["idle"]) < 300  # type: ignore[arg-type]
    path.write_bytes(b'{"entries": [' + b"{}," * (count * 2) + b"{}]}")  # the old 16 MB cap's worst case
    assert "OBSERVER_PERSONA_TEXT_FILE_MAX_BYTES" in str(measure(path)["answer"])
