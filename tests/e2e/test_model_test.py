"""`/test`, `/instruction`, `/dataset archive` and a named dataset for `/train start` on the fake Discord
(issue T): what an admin sees when comparing two models, what a member reads, what an archive holds."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Harness, start_harness
from tests.e2e.test_slash_commands import answer, sub
from tests.e2e.test_training import tunable
from tests.fakes.fine_tuning_server import FakeFineTuning
from tests.fakes.openai_server import FakeOpenAI, Reply

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def two_models(tmp_path: Path, embedder: Any) -> AsyncIterator[Harness]:
    server = FakeOpenAI()
    FakeFineTuning().mount(server)
    await server.start()
    try:
        rival = f'[[models]]\nname = "rival"\nmodel = "fake-rival"\nbase_url = "{server.base_url}"\n'
        async for h in start_harness(tmp_path, embedder, server, tunable(server.base_url) + rival):
            yield h
    finally:
        await server.stop()


def responses(h: Harness, token: str) -> list[dict[str, Any]]:
    """Every body the bot sent for an interaction (initial data, edits, follow-ups), in order."""
    return [r.get("data") or r.get("edit") or r.get("followup") or {} for r in h.discord.interaction_responses[token]]


async def final(h: Harness, token: str, marker: str) -> dict[str, Any]:
    """The first response body whose text holds `marker`, once it has come."""

    def found() -> dict[str, Any] | None:
        return next((b for b in responses(h, token) if marker in (b.get("content") or "")), None)

    await h.discord.wait_until(lambda: token in h.discord.interaction_responses and found() is not None)
    body = found()
    assert body is not None
    return body


def file_option(command: str, upload: dict[str, Any]) -> dict[str, Any]:
    """A subcommand whose `file:` option is an uploaded attachment."""
    return {"name": command, "type": 1, "options": [{"name": "file", "type": 11, "value": upload["id"]}]}


def file_named(body: dict[str, Any], name: str) -> bytes:
    return next(f["bytes"] for f in body.get("files", []) if f["filename"] == name)


TEST_SET = [
    {"prompt": "Who runs the Lantern Tea House?", "answer": "Mrs. Okabe"},
    {"prompt": "ランタン茶屋は何時に開きますか？", "answer": "7時半"},
    {"prompt": "What is the cat called?", "answer": "Mochi"},
]


async def test_an_admin_compares_two_models_side_by_side(two_models: Harness):
    h = two_models
    d = h.discord
    member, admin = d.add_user("member"), d.add_user("admin")
    token = await d.slash(member, "test", [])
    assert "Manage Server" in await answer(h, token)

    # Asked one case at a time, the first model then the second: "chat" knows, "rival" does not.
    h.model.push(
        Reply("Mrs. Okabe runs it."),
        Reply("I have no idea."),
        Reply("<think>opening hours…</think>朝7時半に開きます。"),
        Reply("9時です。"),
        Reply("Mochi."),
        Reply("Mochi"),
    )
    token = await d.slash(
        admin,
        "test",
        [
            {"name": "model", "type": 3, "value": "chat"},
            {"name": "against", "type": 3, "value": "rival"},
            {"name": "json", "type": 3, "value": json.dumps(TEST_SET, ensure_ascii=False)},
        ],
        manage_guild=True,
    )
    body = await final(h, token, "Test of chat vs rival on 3 examples")
    assert responses(h, token)[0].get("flags", 0) & 64, "shown to the admin who ran it"
    table = body["content"].split("```")[1].strip().splitlines()
    assert table[0].split()[:4] == ["model", "exact", "contains", "similar"]
    chat_row, tuned_row = table[1].split(), table[2].split()
    assert chat_row[0] == "chat" and chat_row[2] == "100%", table
    assert tuned_row[0] == "rival" and tuned_row[1] == "33%" and tuned_row[2] == "33%", table
    assert float(chat_row[3]) > float(tuned_row[3]), "the right answers are nearer the expected ones"
    assert file_named(body, "test-chart.png").startswith(PNG)
    details = file_named(body, "test-results.md").decode()
    assert "## 2. ランタン茶屋は何時に開きますか？" in details and "- expected: 7時半" in details
    assert "**chat** [contains" in details and "朝7時半に開きます。" in details
    assert "opening hours" not in details, "a reasoning model's thinking is not its answer"
    assert "**rival** [miss" in details and "I have no idea." in details
    # Each question went to each model as the member's message, at temperature 0.
    asked = [r for r in h.model.chat_requests() if r["messages"][-1]["content"] == TEST_SET[0]["prompt"]]
    assert sorted(r["model"] for r in asked) == ["fake-chat", "fake-rival"]
    assert all(r.get("temperature") == 0 for r in asked)


async def test_a_bad_test_set_or_model_is_refused_with_what_to_do(two_models: Harness):
    h = two_models
    d = h.discord
    admin = d.add_user("admin")
    token = await d.slash(admin, "test", [], manage_guild=True)
    said = (await final(h, token, "Not tested"))["content"]
    assert "no held-out examples yet" in said and "give a test set (a JSONL file or inline JSON)" in said

    token = await d.slash(admin, "test", [{"name": "model", "type": 3, "value": "gpt-9"}], manage_guild=True)
    assert "no model called 'gpt-9'" in (await final(h, token, "Not tested"))["content"]

    bad = '{"prompt": "a"}\n'
    upload = d.attachment("cases.jsonl", bad.encode(), "application/jsonl")
    token = await d.slash(
        admin, "test", [{"name": "file", "type": 11, "value": upload["id"]}], manage_guild=True, attachments=[upload]
    )
    said = (await final(h, token, "Not tested"))["content"]
    assert "line 1" in said and "'prompt' and an 'answer'" in said


async def test_a_grader_model_marks_each_answer(two_models: Harness):
    h = two_models
    d = h.discord
    admin = d.add_user("admin")
    h.model.push(Reply("It is Okabe-san."), Reply("yes"), Reply("A cat."), Reply("No."))
    cases = [TEST_SET[0], {"prompt": "What is the cat called?", "answer": "Mochi"}]
    token = await d.slash(
        admin,
        "test",
        [
            {"name": "model", "type": 3, "value": "chat"},
            {"name": "json", "type": 3, "value": json.dumps(cases)},
            {"name": "grader", "type": 3, "value": "rival"},
        ],
        manage_guild=True,
    )
    body = await final(h, token, "graded by rival")
    [row] = body["content"].split("```")[1].strip().splitlines()[1:]
    assert row.split()[4] == "50%", row
    grading = [r for r in h.model.chat_requests("fake-rival")]
    assert len(grading) == 2 and "Expected answer: Mrs. Okabe" in grading[0]["messages"][-1]["content"]
    assert "Answer given: It is Okabe-san." in grading[0]["messages"][-1]["content"]


async def test_instruction_shows_the_servers_document_as_the_member_chose(two_models: Harness):
    h = two_models
    d = h.discord
    member = d.add_user("member")
    token = await d.slash(member, "instruction", [])
    await d.wait_until(lambda: h.discord.interaction_responses.get(token))
    [first] = responses(h, token)
    assert first["content"].startswith("# How to talk to Observer") and "/correct" in first["content"]
    assert first.get("flags", 0) & 64, "private by default: only the member sees it"

    # An operator's own document for this server, longer than one message, read without a restart.
    override = h.services.settings.data_dir / "prompts" / d.guild_id / "instruction.md"
    override.parent.mkdir(parents=True, exist_ok=True)
    rules = "\n".join(f"{i}. Be kind to everyone in #general, @everyone included." for i in range(1, 80))
    # Braces are text in a document for members: an example in JSON is shown as written.
    json_line = 'Send examples like {"prompt": "x", "answer": "y"}.'
    override.write_text(f"# {{bot_name}} in our tea house\n\n{json_line}\n{rules}\n", encoding="utf-8")
    token = await d.slash(member, "privacy", sub("set", mode="public"))
    await answer(h, token)

    async def shown() -> list[dict[str, Any]]:
        token = await d.slash(member, "instruction", [])
        await d.wait_until(lambda: len(responses(h, token)) >= 1)
        await h.settle()
        return responses(h, token)

    parts = await shown()
    for _ in range(20):
        if parts[0]["content"].startswith("# Observer in our tea house"):
            break
        await h.settle()
        parts = await shown()
    assert parts[0]["content"].startswith("# Observer in our tea house")
    assert json_line in parts[0]["content"]
    assert len(parts) >= 2 and all(len(p["content"]) <= 2000 for p in parts)
    assert "79. Be kind" in parts[-1]["content"]
    assert not any(p.get("flags", 0) & 64 for p in parts), "public, as the member chose"
    assert all(p["allowed_mentions"]["parse"] == [] for p in parts), "@everyone never pings"


async def test_dataset_archive_holds_the_servers_documents_and_training_data(two_models: Harness):
    h = two_models
    d = h.discord
    member, admin = d.add_user("member"), d.add_user("admin")
    doc = d.attachment("tea-house.md", b"# Lantern Tea House\n\nOpen from 7:30, closed on Tuesdays.\n", "text/markdown")
    token = await d.slash(admin, "dataset", [file_option("add", doc)], manage_guild=True, attachments=[doc])
    await final(h, token, "tea-house.md")
    lines = "\n".join(json.dumps({"prompt": f"Q{i}?", "answer": f"A{i}."}) for i in range(6))
    upload = d.attachment("teach.jsonl", lines.encode(), "application/jsonl")
    group = [{"name": "example", "type": 2, "options": [file_option("add", upload)]}]
    token = await d.slash(admin, "train", group, manage_guild=True, attachments=[upload])
    assert await answer(h, token) == "Added 6 training examples (teach.jsonl)."

    # The host's examples for every server are trained on, but are not a server's to take away.
    from agent.training.dataset import add_examples, pair

    shared = [("positive", pair("What is the staff salary list?", "Operator only."))]
    await add_examples(h.services.record, shared, guild_id=None, user_id=None, source="host.jsonl")

    token = await d.slash(member, "dataset", sub("archive"))
    assert "Manage Server" in await answer(h, token)
    token = await d.slash(admin, "dataset", sub("archive"), manage_guild=True)
    body = await final(h, token, "documents")
    assert body["content"].startswith("1 documents, 6 supervised examples, 0 preference pairs, 6 uploaded examples")
    assert body.get("flags", 0) & 64
    archive = zipfile.ZipFile(io.BytesIO(file_named(body, f"observer-dataset-{d.guild_id}.zip")))
    names = set(archive.namelist())
    assert {"knowledge/tea-house.md", "training/sft-train.jsonl", "training/examples.jsonl", "README.txt"} <= names
    assert "closed on Tuesdays" in archive.read("knowledge/tea-house.md").decode()
    stored = [json.loads(line) for line in archive.read("training/examples.jsonl").decode().splitlines()]
    assert [s["source"] for s in stored] == ["teach.jsonl"] * 6 and stored[0]["messages"][0]["content"] == "Q0?"
    sft = archive.read("training/sft-train.jsonl").decode() + archive.read("training/sft-test.jsonl").decode()
    assert sft.count("\n") == 6 and "salary" not in sft


async def test_train_start_takes_one_uploaded_file_as_its_dataset(two_models: Harness):
    h = two_models
    d = h.discord
    admin = d.add_user("admin")
    for name, n in (("teahouse.jsonl", 11), ("other.jsonl", 4)):
        lines = "\n".join(json.dumps({"prompt": f"{name} Q{i}?", "answer": f"A{i}."}) for i in range(n))
        upload = d.attachment(name, lines.encode(), "application/jsonl")
        group = [{"name": "example", "type": 2, "options": [file_option("add", upload)]}]
        token = await d.slash(admin, "train", group, manage_guild=True, attachments=[upload])
        await answer(h, token)
    token = await d.slash(admin, "train", [{"name": "example", "type": 2, "options": sub("list")}], manage_guild=True)
    listed = await answer(h, token)
    assert "• other.jsonl: 4" in listed and "• teahouse.jsonl: 11" in listed

    token = await d.slash(admin, "train", sub("start", dataset="nope.jsonl"), manage_guild=True)
    assert "No uploaded file called 'nope.jsonl' here" in await answer(h, token)
    # Every server's data together is the host's choice, never a server admin's.
    token = await d.slash(admin, "train", sub("start", dataset="all"), manage_guild=True)
    assert "No uploaded file called 'all' here" in await answer(h, token)
    remove = [{"name": "example", "type": 2, "options": sub("remove", file="other.jsonl")}]
    token = await d.slash(admin, "train", remove, manage_guild=True)
    assert await answer(h, token) == "Removed 4 training examples (other.jsonl)."
    token = await d.slash(admin, "train", [{"name": "example", "type": 2, "options": sub("list")}], manage_guild=True)
    assert "other.jsonl" not in await answer(h, token)
    token = await d.slash(admin, "train", sub("start", dataset="teahouse.jsonl"), manage_guild=True)
    started = (await final(h, token, "Training job #1"))["content"]
    counts = started.split("(sft, ")[1]  # "(sft, 10 examples, 1 held out)"
    train, held = int(counts.split(" examples, ")[0]), int(counts.split(" examples, ")[1].split(" held out")[0])
    assert train + held == 11, started
