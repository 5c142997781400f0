"""`observer persona`, `observer dataset` and `observer voice` as an operator runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import models_toml
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer

DATA = Path(__file__).resolve().parents[1] / "data" / "memory"


async def test_persona_ingest_twice_then_search_in_japanese(tmp_path: Path):
    folder = tmp_path / "mika"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("queries.jsonl"))
    code, out, err = await observer(tmp_path, "persona", "ingest", str(folder))
    assert code == 0, err
    assert "personas Mika" in out and "3 documents" in out and "0 unchanged" in out
    assert "embedding [" in err, "a progress bar on stderr"
    code, out, err = await observer(tmp_path, "persona", "ingest", str(folder))
    assert code == 0 and "(0 new, 37 unchanged, 0 removed)" in out, out

    code, out, err = await observer(tmp_path, "persona", "search", "ミカの猫の名前は？", "--persona", "Mika")
    assert code == 0, err
    first = next(line for line in out.splitlines() if line.startswith(("*", " ")))
    assert "Biscuit" in first and "lore" in first, out
    code, out, _ = await observer(tmp_path, "persona", "list")
    assert "Mika  [global]" in out and "observer  [global]" in out


async def test_malformed_persona_file_exits_2_naming_file_and_field(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "Bad"\ndescription = "x"\n[[lore]]\ntext = ""\n', encoding="utf-8")
    code, out, err = await observer(tmp_path, "persona", "ingest", str(bad))
    assert code == 2 and "bad.toml: lore[0].text: is missing or empty" in err and "Traceback" not in err


async def test_dataset_export_writes_fine_tuning_jsonl(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.push(Reply("The shop opens at noon."))
    code, _, err = await observer(tmp_path, "chat", "--once", "@Observer when does the shop open?", "--author", "ann")
    assert code == 0, err
    code, out, err = await observer(tmp_path, "dataset", "export", "--out", "conversations.jsonl")
    assert code == 0, err
    line = json.loads((tmp_path / "conversations.jsonl").read_text(encoding="utf-8").splitlines()[0])
    roles = [m["role"] for m in line["messages"]]
    assert roles == ["system", "user", "assistant"]
    assert line["messages"][1]["content"] == "ann: @Observer when does the shop open?"
    assert line["messages"][2]["content"] == "The shop opens at noon."


async def test_voice_say_then_transcribe(tmp_path: Path):
    code, out, err = await observer(tmp_path, "voice", "say", "The library is closed on Mondays.", "--out", "reply.ogg")
    assert code == 0, err
    assert (tmp_path / "reply.ogg").read_bytes().startswith(b"OggS")
    code, out, err = await observer(tmp_path, "voice", "transcribe", "reply.ogg")
    assert code == 0, err
    assert "library" in out.lower() and "monday" in out.lower()
    code, _, err = await observer(tmp_path, "voice", "transcribe", "observer.toml")
    assert code == 2 and "no such file" in err
