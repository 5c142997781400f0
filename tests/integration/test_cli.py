"""`observer` as a user runs it: a subprocess, its output and exit code."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from agent.memory.db import head_revision
from tests.conftest import models_toml
from tests.fakes.openai_server import Drip, FakeOpenAI, Reply


def cli_env(tmp_path: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a user's `observer` command: a data dir of the test's own, no waiting for busy models."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_") and k != "DISCORD_TOKEN"}
    full_env.update({"OBSERVER_DATA_DIR": str(tmp_path / "data"), "OBSERVER_MAX_BUSY_WAIT_SECONDS": "0"})
    full_env.update(env or {})
    return full_env


async def start_observer(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """`observer ARGS` as a real process with piped stdin, stdout and stderr."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "command_line",
        *args,
        cwd=tmp_path,
        env=cli_env(tmp_path, env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(proc: asyncio.subprocess.Process, marker: bytes, seen: bytes = b"") -> bytes:
    """What the process printed (after `seen`) up to and including `marker`; fails if it ends first."""
    assert proc.stdout is not None
    while marker not in seen:
        chunk = await asyncio.wait_for(proc.stdout.read(64), timeout=300)
        assert chunk, f"the process ended before printing {marker!r}: {seen!r}"
        seen += chunk
    return seen


async def observer(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> tuple[int, str, str]:
    proc = await start_observer(tmp_path, *args, env=env)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), timeout=300)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_once_prints_the_streamed_reply(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.push(Reply("Miso is a lovely name."))
    code, out, err = await observer(tmp_path, "chat", "--once", "hey @Observer, name my cat?", "--author", "alice")
    assert code == 0, err
    assert out.strip() == "Observer: Miso is a lovely name."
    assert fake_openai.requests[-1]["messages"][-1]["content"] == "hey name my cat?"


async def test_once_not_addressed_and_verbose(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    code, out, _ = await observer(tmp_path, "chat", "--once", "lol", "--author", "bob")
    assert code == 0 and out.strip() == "(no reply: not addressed, judge skipped)"
    code, out, _ = await observer(tmp_path, "chat", "--once", "@Observer hi", "--verbose")
    assert code == 0
    assert "decision: respond=True" in out and "model: chat" in out and "persona: observer" in out
    assert "tokens: in=" in out and "timings:" in out


async def test_repl_speakers_and_as(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    script = "alice: hey @Observer, what should I name my cat?\nbob: lol\n/as carol\n@Observer hi from carol\n/quit\n"
    code, out, err = await observer(tmp_path, "chat", stdin=script)
    assert code == 0, err
    assert out.count("Observer: Hello from the fake model.") == 2
    assert "(no reply: not addressed, judge skipped)" in out
    assert fake_openai.requests[-1]["messages"][-1]["content"] == "hi from carol"
    assert "carol" in fake_openai.requests[-1]["messages"][0]["content"]


async def test_a_mistyped_command_is_one_line_and_help_lists_them(tmp_path: Path, fake_openai: FakeOpenAI):
    """Found by a tester: `/bogus` printed the whole help, which reads as if the console ignored the line."""
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    code, out, err = await observer(tmp_path, "chat", stdin="/bogus\n/channel\n/help\n/quit\n")
    assert code == 0, err
    assert "(no command /bogus; /help lists them, and a line without a leading / is a message)\n" in out
    assert "(/channel needs an argument: /channel NAME" in out
    assert out.count("/verbose") == 1, "the help is printed once, for /help"
    assert not fake_openai.requests, "no command reached the model"


async def test_endpoint_down_is_one_line_and_exit_zero(tmp_path: Path):
    (tmp_path / "observer.toml").write_text(models_toml("http://127.0.0.1:9/v1"))
    code, out, _ = await observer(tmp_path, "chat", "--once", "@Observer hi")
    assert code == 0
    assert re.fullmatch(
        r"\(no reply: model 'chat' failed: cannot connect to the endpoint; all models are busy; try again in ~1\d s\)",
        out.strip(),
    ), out


async def test_config_mistakes_exit_2_with_one_line(tmp_path: Path):
    (tmp_path / "observer.toml").write_text('[[models]]\nname = "a"\nmodel = "m"\ncontex_window = 1\n')
    code, out, err = await observer(tmp_path, "chat", "--once", "hi")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "did you mean 'context_window'" in err
    code, _, err = await observer(tmp_path, "chat", "--once", "hi", env={"OBSERVER_HISTORY_LIMIT": "-3"})
    assert code == 2 and "OBSERVER_HISTORY_LIMIT" in err and "Traceback" not in err
    code, _, err = await observer(tmp_path, "run")
    assert code == 2 and "DISCORD_TOKEN" in err


async def test_db_upgrade(tmp_path: Path):
    code, out, _ = await observer(tmp_path, "db", "upgrade")
    assert code == 0 and out.strip() == f"database at revision {head_revision()}"


async def test_tools_list_and_a_verbose_tool_call(tmp_path: Path, fake_openai: FakeOpenAI):
    toml = models_toml(fake_openai.base_url).replace("timeout_s = 600", "timeout_s = 600\ntools = true")
    repo = Path(__file__).resolve().parents[2]
    toml += (
        f'[[mcp_servers]]\nname = "tides"\ncommand = "{sys.executable}"\nargs = ["-m", "tests.mcp.tide_server"]\n'
        f'cwd = "{repo}"\nadmin_only = ["purge_cache"]\nconfirm = ["set_alarm"]\n'
        '[[mcp_servers]]\nname = "gone"\nurl = "http://127.0.0.1:9/mcp"\n'
    )
    (tmp_path / "observer.toml").write_text(toml)
    code, out, err = await observer(tmp_path, "tools", "list", "--guild", "home")
    assert code == 0, err
    assert "MCP tides (stdio): connected, 6 tools" in out
    assert "MCP gone (http): down" in out
    assert re.search(r"purge_cache\s+mcp:tides\s+admin only .*\[not offered here\]", out)
    assert re.search(r"set_alarm\s+mcp:tides\s+confirm", out)
    assert re.search(r"search_messages\s+built-in", out)

    fake_openai.push(Reply(tool_calls=[("tide", {"port": "porto"})]), Reply("High tide at 08:03."))
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer tide in porto?", "--verbose")
    assert code == 0, err
    assert "Observer: High tide at 08:03." in out
    assert re.search(r"tool tide\(port='porto'\) \[mcp:tides\] ok in \d+ ms: porto: high tide 08:03", out)


async def test_console_asks_before_a_tool_that_changes_something(tmp_path: Path, fake_openai: FakeOpenAI):
    alarms = tmp_path / "alarms.txt"
    repo = Path(__file__).resolve().parents[2]
    toml = models_toml(fake_openai.base_url).replace("timeout_s = 600", "timeout_s = 600\ntools = true")
    toml += (
        f'[[mcp_servers]]\nname = "tides"\ncommand = "{sys.executable}"\nargs = ["-m", "tests.mcp.tide_server"]\n'
        f'cwd = "{repo}"\nconfirm = ["set_alarm"]\nenv = {{ TIDE_ALARMS = "{alarms}" }}\n'
    )
    (tmp_path / "observer.toml").write_text(toml)
    fake_openai.push(Reply(tool_calls=[("set_alarm", {"time": "07:30"})]), Reply("No alarm, then."))
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer alarm at 7:30", stdin="n\n")
    assert code == 0, err
    assert "(approve set_alarm(time='07:30') for User? [y/N])" in out and "No alarm, then." in out
    assert not alarms.exists()
    assert "User denied it" in fake_openai.chat_requests()[-1]["messages"][-1]["content"]

    fake_openai.push(Reply(tool_calls=[("set_alarm", {"time": "07:30"})]), Reply("Alarm set."))
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer alarm at 7:30", stdin="y\n")
    assert code == 0, err
    assert "Alarm set." in out
    assert alarms.read_text() == "07:30 \n"


async def test_a_quota_holds_across_console_runs_by_author(tmp_path: Path, fake_openai: FakeOpenAI):
    """Each `--once` is a new process: the quota is counted from the record, not from memory."""
    (tmp_path / "observer.toml").write_text("[quotas]\nreplies_per_hour = 3\n" + models_toml(fake_openai.base_url))
    for i in range(3):
        code, out, err = await observer(tmp_path, "chat", "--once", f"@Observer question {i}", "--author", "ana")
        assert code == 0 and out.startswith("Observer: "), err
    asked = len(fake_openai.chat_requests())
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer one more?", "--author", "ana")
    assert code == 0, err
    assert "Observer (to ana): You've reached your limit here (3 of 3 replies this hour)" in out
    # The hour counts from the first reply: on a slow machine the runs above take minutes of it.
    wait = re.search(r"ask again in about (?:(\d+) min|1 h)\.", out)
    assert wait and (wait.group(1) is None or 1 <= int(wait.group(1)) <= 59), out
    assert "(no reply: quota: 3 of 3 replies this hour)" in out
    assert len(fake_openai.chat_requests()) == asked, "no model call, the judge included"
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer my turn", "--author", "bea")
    assert code == 0 and out.startswith("Observer: "), "another member is answered"


async def test_a_cast_in_the_console(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    for name, about, talk in (("Mika", "keeps the tea shop", 0.8), ("Ren", "is the blacksmith", 0.3)):
        (tmp_path / f"{name}.toml").write_text(
            f'name = "{name}"\ndescription = "{name} {about}."\ntalkativeness = {talk}\n'
        )
        code, _, err = await observer(tmp_path, "persona", "ingest", str(tmp_path / f"{name}.toml"))
        assert code == 0, err
    code, out, err = await observer(
        tmp_path, "chat", stdin="/channel teahouse\n/cast add Mika\n/cast add Ren\n/cast add Nobody\n/cast\n"
    )
    assert code == 0, err
    assert "(#teahouse's cast: Mika, Ren)" in out and "(no persona named Nobody" in out

    # Ren is named: he answers; his line goes back to the judge, which lets Mika chime in, then nobody.
    fake_openai.push(
        Reply("Three silver."),
        Reply(json_obj={"speaker": "Mika", "reason": "she teases him"}),
        Reply("He means two, for you."),
        Reply(json_obj={"speaker": "none", "reason": "done"}),
    )
    code, out, err = await observer(tmp_path, "chat", "--once", "Ren, how much for a knife?", "--channel", "teahouse")
    assert code == 0, err
    assert out.splitlines() == ["Ren: Three silver.", "Mika: He means two, for you."]


async def test_status_lists_every_process_and_the_shards_nobody_holds(tmp_path: Path):
    from agent.memory.db import create_engine, upgrade
    from agent.memory.processes import Me, Processes

    code, out, _ = await observer(tmp_path, "status")
    assert code == 0 and "no process has run" in out
    assert not (tmp_path / "data" / "observer.db").exists(), "status creates nothing"
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'observer.db'}")
    await upgrade(engine)
    alive = Processes(engine, Me(host="vps-1", pid=101), 15)
    gone = Processes(engine, Me(pid=2**22 + 9), 15)  # this machine, a pid nobody has: stopped
    await alive.beat("auto", 4, [0, 1])
    await gone.beat("auto", 4, [2])
    await engine.dispose()
    code, out, _ = await observer(tmp_path, "status")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3, out
    assert "vps-1:101" in lines[0] and "shards [0, 1] of 4" in lines[0] and "[alive]" in lines[0]
    assert "shards [2] of 4" in lines[1] and "[stopped]" in lines[1]
    assert lines[2] == "shards of 4 held by no live process: [2, 3] (their servers get no answers)"
    code, out, err = await observer(
        tmp_path, "status", env={"OBSERVER_DATABASE_URL": "postgresql+asyncpg://observer:hunter2@127.0.0.1:1/none"}
    )
    assert code == 2 and out == "" and err.count("\n") == 1 and "hunter2" not in err
    assert "OBSERVER_DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:1/none" in err


async def test_ctrl_c_stops_the_answer_not_the_console(tmp_path: Path, fake_openai: FakeOpenAI):
    """Found by a tester: Ctrl-C quit the console; in a shell it stops what runs and keeps the prompt."""
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.push(Drip("one two three four five six seven eight nine ten eleven twelve", every_s=1.0))
    console = await start_observer(tmp_path, "chat")
    assert console.stdin is not None
    console.stdin.write(b"@Observer count slowly\n")
    await console.stdin.drain()
    seen = await read_until(console, b"one")  # the answer is being written
    console.send_signal(signal.SIGINT)
    seen = await read_until(console, b"(stopped)", seen)
    console.send_signal(signal.SIGINT)  # at the prompt: a hint, not an exit
    # (a line sent at once could be read before the signal)
    seen = await read_until(console, b"(Ctrl-D or /quit leaves)", seen)
    out, err = await asyncio.wait_for(console.communicate(b"@Observer still there?\n/quit\n"), timeout=300)
    text = (seen + out).decode()
    assert console.returncode == 0, err.decode()
    assert "twelve" not in text, "the stopped answer went on"
    assert "(Ctrl-D or /quit leaves)" in text
    assert "Observer: Hello from the fake model." in text
