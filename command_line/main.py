"""`observer`: the console (`chat`), the Discord bot (`run`), memory (`persona`, `dataset`), the web
dashboard (`dashboard`) and `db upgrade`.

With no subcommand it runs the bot when DISCORD_TOKEN is set, and the console otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.logs import setup_logging
from agent.loop import run_async
from agent.settings import Settings, load_settings
from command_line.memory import add_parsers as add_memory_parsers
from command_line.memory import dataset_command, memory_command, persona_command
from command_line.train import add_parsers as add_train_parsers
from command_line.train import test_command, train_command
from command_line.voice import add_parsers as add_voice_parsers
from command_line.voice import voice_command


def _port(text: str) -> int:
    """A TCP port, 1-65535 (80000 once listened on 14464)."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="observer", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="talk to the bot in this terminal, through the same graph")
    chat.add_argument("--once", metavar="TEXT", help="handle one message and exit")
    chat.add_argument("--author", default="User", help="who says it (default: User)")
    chat.add_argument("--channel", default="general", help="channel name; @name for a direct message")
    chat.add_argument("--verbose", action="store_true", help="show decision, model, retrieval, tokens, timings")
    sub.add_parser("run", help="connect to Discord with DISCORD_TOKEN")
    rp = sub.add_parser("replay", help="run a recorded transcript (JSON Lines) through the graph")
    rp.add_argument("transcript", type=Path, help="one message a line: author, text, reply_to, attachments")
    rp.add_argument("--diff", metavar="OLD_PROMPTS_DIR", type=Path, help="show which decisions these prompts change")
    rp.add_argument("--mode", default="auto", choices=["mentions", "auto"], help="channel mode (default: auto)")
    rp.add_argument("--cadence", action="store_true", help="apply the auto-mode cadence (default: judge every message)")
    add_memory_parsers(sub)
    add_voice_parsers(sub)
    add_train_parsers(sub)
    tools = sub.add_parser("tools", help="the tools the bot offers (built-in and MCP servers)")
    tools_sub = tools.add_subparsers(dest="tools_command", required=True)
    tl = tools_sub.add_parser("list", help="every tool, where it comes from, and whether a server is offered it")
    tl.add_argument("--guild", help="a server id (Discord) or name (console): mark tools not offered there")
    tl.add_argument("--admin", action="store_true", help="as a member with Manage Server")
    sub.add_parser("status", help="every `observer run` sharing the database: shards held, alive or stopped")
    sub.add_parser("health", help="exit 0 while this host's `observer run` is connected to Discord (HEALTHCHECK)")
    dash = sub.add_parser("dashboard", help="the web dashboard (Live, Health, Channels); `link`: a one-time login")
    dash.add_argument("--host", help="address to listen on (default: OBSERVER_DASHBOARD_HOST, 127.0.0.1)")
    dash.add_argument("--port", type=_port, help="port (default: OBSERVER_DASHBOARD_PORT, else 8710)")
    dash_sub = dash.add_subparsers(dest="dashboard_command")
    link = dash_sub.add_parser(
        "link",
        help="print a one-time operator login link (OBSERVER_DASHBOARD_LINK_MINUTES) to the dashboard's address: "
        "OBSERVER_DASHBOARD_PUBLIC_URL, else http://HOST:PORT (OBSERVER_DASHBOARD_HOST/_PORT, or --host/--port)",
    )
    # Before or after `link` alike (the subcommand's own default must not undo the one given before it).
    link.add_argument("--host", default=argparse.SUPPRESS, help="the dashboard's address, for the link")
    link.add_argument("--port", type=_port, default=argparse.SUPPRESS, help="the dashboard's port, for the link")
    db = sub.add_parser("db", help="database upkeep")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations (also done at every start)")
    return parser


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from agent.services import build_services
    from command_line.console import ConsoleSession, repl

    services = await build_services(settings, answering=True)
    try:
        session = ConsoleSession(services, verbose=args.verbose)
        session.author = args.author[:32]
        session.channel = args.channel.lstrip("#")
        if args.once is not None:
            await session.send(args.once, session.author)
        else:
            await repl(session)
    finally:
        await services.close()
    return 0


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from agent.prompts import PromptLibrary
    from command_line.replay import print_diff, print_outcomes, read_transcript, replay

    transcript = read_transcript(args.transcript)
    outcomes = await replay(settings, transcript, mode=args.mode, cadence=args.cadence)
    if args.diff is None:
        print_outcomes(outcomes, settings.bot_name, sys.stdout)
        return 0
    if not args.diff.is_dir():
        raise ConfigError(f"--diff: {args.diff} is not a folder of prompt files")
    PromptLibrary(args.diff).check_all()
    old_settings = settings.model_copy(update={"prompts_dir": args.diff})
    old = await replay(old_settings, transcript, mode=args.mode, cadence=args.cadence)
    print_diff(old, outcomes, sys.stdout)
    return 0


async def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from agent.memory.db import create_engine, current_revision, upgrade

    engine = create_engine(settings.resolved_database_url(), log_content=settings.log_content)
    try:
        await upgrade(engine)
        print(f"database at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


async def _status(settings: Settings, _args: argparse.Namespace) -> int:
    """Read-only: migrates nothing, creates nothing (a missing SQLite file is reported, not made)."""
    from sqlalchemy.engine import make_url

    from agent import startup_faults
    from agent.memory.db import create_engine
    from agent.memory.processes import Me, Processes
    from agent.process_status import process_lines

    url = settings.resolved_database_url()
    database = make_url(url).database
    if url.startswith("sqlite") and database and not await asyncio.to_thread(Path(database).exists):
        print(f"no database at {database}: no process has run with this OBSERVER_DATA_DIR")
        return 0
    engine = create_engine(url, log_content=settings.log_content)
    try:
        now, rows = await Processes(engine, Me(), settings.process_lease_seconds).rows()
    except Exception as exc:
        if "processes" in str(exc) and ("no such table" in str(exc) or "does not exist" in str(exc)):
            print("no process has run against this database since it was upgraded (`observer db upgrade`)")
            return 0
        raise ConfigError(startup_faults.explain(exc, settings) or f"cannot read the database: {exc}") from None
    finally:
        await engine.dispose()
    for line in process_lines(now, rows, Me(id=""), settings.process_lease_seconds):
        print(line)
    return 0


async def _health(settings: Settings, _args: argparse.Namespace) -> int:
    """Reads only the health file `observer run` writes: cheap enough for a HEALTHCHECK every 30 s."""
    from agent.health_file import health_path, verdict

    healthy, line = verdict(health_path(settings.data_dir, settings.health_file))
    print(line)
    return 0 if healthy else 1


async def _tools(settings: Settings, args: argparse.Namespace) -> int:
    from agent.events import Event
    from agent.ids import stable_id
    from agent.rights import MemberRights
    from agent.services import build_services
    from agent.tools.describe import server_lines, tool_line

    services = await build_services(settings)
    try:
        event = None
        if args.guild:
            guild = int(args.guild) if args.guild.isdigit() else stable_id("guild", args.guild)
            rights = MemberRights(can_manage=args.admin, places_known=True)
            event = Event(message_id=0, guild_id=guild, channel_id=0, author_id=0, author_name="?", rights=rights)
        for line in server_lines(services.toolbox.hub):
            print(line)
        tools = services.toolbox.all_tools()
        print(f"{'tool':20} {'from':14} {'rules':22} description")
        for tool in tools:
            print(tool_line(tool, event))
        offering = [m.name for m in services.registry.specs if m.tools]
        print(f"offered to models: {', '.join(offering) or 'none (set tools = true on a model)'}")
    finally:
        await services.close()
    return 0


async def _run_discord(settings: Settings, _args: argparse.Namespace) -> int:
    from discord_adapter.run import run_bot

    if settings.dashboard_port is None:
        return await run_bot(settings)
    from dashboard.serve import serve

    # Beside the bot, in the same process: the dashboard reads the same record; the bot's end ends it.
    dashboard = asyncio.create_task(serve(settings))
    try:
        return await run_bot(settings)
    finally:
        dashboard.cancel()
        await asyncio.gather(dashboard, return_exceptions=True)


async def _dashboard(settings: Settings, args: argparse.Namespace) -> int:
    from dashboard.serve import login_link, serve

    if args.dashboard_command == "link":
        print(await login_link(settings, args.host, args.port))
        return 0
    await serve(settings, args.host, args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(
            settings.log_level,
            log_content=settings.log_content,
            secrets=(settings.discord_token.get_secret_value() if settings.discord_token else None,),
        )
        command = args.command
        if command is None:
            token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
            command = "run" if token else "chat"
            if command == "chat":
                args = _parser().parse_args(["chat"])
        handlers: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
            "chat": _chat,
            "run": _run_discord,
            "db": _db_upgrade,
            "replay": _replay,
            "persona": persona_command,
            "dataset": dataset_command,
            "train": train_command,
            "test": test_command,
            "memory": memory_command,
            "voice": voice_command,
            "tools": _tools,
            "status": _status,
            "health": _health,
            "dashboard": _dashboard,
        }
        return run_async(handlers[command](settings, args))
    except ConfigError as exc:
        print(f"observer: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
