from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from agent.prompts import PromptError, PromptLibrary
from agent.settings import REPO_PROMPTS_DIR


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(REPO_PROMPTS_DIR, target)
    return target


def system_values(**over: str) -> dict[str, str]:
    values = {
        "bot_name": "Observer",
        "persona": "P",
        "channel": "general",
        "author": "alice",
        "date": "2026-01-01",
        "member_profile": "likes tea",
        "memory": "- the ferry leaves at 8",
    }
    values.update(over)
    return values


def test_shipped_prompts_pass_the_check():
    PromptLibrary(REPO_PROMPTS_DIR).check_all()


def test_unknown_placeholder_is_named_with_file_and_line(prompts_dir: Path):
    path = prompts_dir / "system.md"
    path.write_text(path.read_text() + "\nThe weather is {weather}.\n")
    with pytest.raises(PromptError) as err:
        PromptLibrary(prompts_dir).check_all()
    lineno = len(path.read_text().splitlines())
    assert f"system.md:{lineno}: unknown placeholder {{weather}}" in str(err.value)


def test_provided_value_never_used_is_an_error(prompts_dir: Path):
    path = prompts_dir / "system.md"
    path.write_text(path.read_text().replace("Today is {date}.", "Hello."))
    with pytest.raises(
        PromptError, match=r"system\.md:1: the code provides \{date\} but the system prompt never uses it"
    ):
        PromptLibrary(prompts_dir).check_all()


def test_attribute_access_in_placeholders_is_refused(prompts_dir: Path):
    path = prompts_dir / "persona.md"
    path.write_text("{bot_name.__class__} {bot_name}")
    with pytest.raises(PromptError, match="must be a plain name"):
        PromptLibrary(prompts_dir).check_all()


def test_edit_takes_effect_without_restart_and_unchanged_files_are_not_reread(prompts_dir: Path):
    lib = PromptLibrary(prompts_dir)
    first = lib.render("system", **system_values())
    reads = lib.reads
    for _ in range(5):
        assert lib.render("system", **system_values()) == first
    assert lib.reads == reads, "unchanged prompt files must not be read again"
    path = prompts_dir / "system.md"
    path.write_text(
        "You are {bot_name} in #{channel} with {author} on {date}. Be brief. {persona} {memory} {member_profile}"
    )
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9, path.stat().st_mtime_ns + 10**9))
    assert lib.render("system", **system_values()).startswith("You are Observer in #general with alice")
    assert lib.reads == reads + 1


def test_a_broken_edit_keeps_the_last_good_prompt(prompts_dir: Path):
    lib = PromptLibrary(prompts_dir)
    good = lib.render("system", **system_values())
    path = prompts_dir / "system.md"
    path.write_text("Broken {nope}")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9, path.stat().st_mtime_ns + 10**9))
    assert lib.render("system", **system_values()) == good


def test_guild_override(prompts_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr("agent.prompts.OVERRIDE_RESCAN_SECONDS", 0.0)
    overrides = tmp_path / "overrides"
    (overrides / "42").mkdir(parents=True)
    (overrides / "42" / "persona.md").write_text("{bot_name} speaks like a pirate.")
    lib = PromptLibrary(prompts_dir, override_root=overrides)
    lib.check_all()
    assert lib.render("persona", 42, bot_name="Obs") == "Obs speaks like a pirate."
    assert "pirate" not in lib.render("persona", 7, bot_name="Obs")
    assert "pirate" not in lib.render("persona", None, bot_name="Obs")


def test_literal_braces_render(prompts_dir: Path):
    lib = PromptLibrary(prompts_dir)
    text = lib.render("judge", bot_name="O", models="- a", history="h", message="m", author="x", channel="c")
    assert '{"respond": true or false' in text


def test_an_override_added_while_running_is_picked_up(prompts_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr("agent.prompts.OVERRIDE_RESCAN_SECONDS", 0.0)
    overrides = tmp_path / "overrides"
    lib = PromptLibrary(prompts_dir, override_root=overrides)
    assert "pirate" not in lib.render("persona", 42, bot_name="Obs")
    (overrides / "42").mkdir(parents=True)
    (overrides / "42" / "persona.md").write_text("{bot_name} speaks like a pirate.")
    assert lib.render("persona", 42, bot_name="Obs") == "Obs speaks like a pirate."


def test_a_judge_prompt_written_before_tools_keeps_working(prompts_dir: Path):
    judge = prompts_dir / "judge.md"
    judge.write_text(judge.read_text(encoding="utf-8").replace("{tools}\n", ""), encoding="utf-8")
    lib = PromptLibrary(prompts_dir)
    values = {"bot_name": "O", "models": "- a", "history": "h", "message": "m", "author": "x", "channel": "c"}
    text = lib.render("judge", tools="Tools the answer may use here: current_time.", **values)
    assert "current_time" not in text and "Newest message, from x" in text
    with pytest.raises(ValueError, match="judge prompt takes"):
        lib.render("judge", tool="typo", **values)


@pytest.mark.parametrize("placeholder", ["{date:d}", "{bot_name!r}", "{date:>3000000}", "{date:{bot_name}}"])
def test_a_format_spec_or_conversion_is_refused(prompts_dir: Path, placeholder: str):
    """`{date:d}` failed every message; `{date:>3000000}` built megabytes per message (a tester's finding)."""
    path = prompts_dir / "system.md"
    path.write_text(path.read_text() + f"\nToday: {placeholder}\n")
    with pytest.raises(PromptError, match=r"must be a plain name: write \{(date|bot_name)\}"):
        PromptLibrary(prompts_dir).check_all()


def test_a_servers_override_that_cannot_be_used_gives_the_default(prompts_dir: Path, tmp_path: Path):
    overrides = tmp_path / "overrides"
    (overrides / "42").mkdir(parents=True)
    (overrides / "42" / "persona.md").write_bytes(b"\xff\xfe not UTF-8 {bot_name}")
    (overrides / "42" / "instruction.md").write_text('Send {"prompt": "x"} to {bot_name}.', encoding="utf-8")
    library = PromptLibrary(prompts_dir, overrides)
    default = library.render("persona", None, bot_name="Observer")
    assert library.render("persona", 42, bot_name="Observer") == default
    assert library.render("instruction", 42, bot_name="Obs") == 'Send {"prompt": "x"} to Obs.', (
        "a document, not a template"
    )
