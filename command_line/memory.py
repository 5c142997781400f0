"""`observer persona …` and `observer dataset …`: the same code the slash commands use."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from agent.errors import ConfigError
from agent.memory.personas import DEFAULT_PERSONA
from agent.settings import Settings


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    persona = sub.add_parser("persona", help="persona files, lore and knowledge documents")
    ps = persona.add_subparsers(dest="persona_command", required=True)
    ingest = ps.add_parser("ingest", help="sync a persona file, card, document or folder into memory")
    ingest.add_argument(
        "path",
        type=Path,
        help=".toml .md .json .png persona files; SillyTavern World Info .json; .md .txt .pdf documents",
    )
    ingest.add_argument("--guild", type=int, help="only for this guild (default: every guild and DMs)")
    ingest.add_argument(
        "--persona", help="attach documents and World Info to this persona (default: the folder's only persona)"
    )
    ingest.add_argument("--channel", type=int, help="World Info for this channel only (with --guild)")
    search = ps.add_parser("search", help="show what a message would retrieve, with scores")
    search.add_argument("query")
    search.add_argument("--guild", type=int, help="as if asked in this guild (default: a DM)")
    search.add_argument("--persona", default=DEFAULT_PERSONA)
    search.add_argument("--channel", type=int, help="as if asked in this channel (its World Info too)")
    search.add_argument("--user", default="User", help="as if asked by this member ({{user}} in lore)")
    listing = ps.add_parser("list", help="the personas you can use")
    listing.add_argument("--guild", type=int)
    memory = sub.add_parser("memory", help="the embedded memory store")
    ms = memory.add_subparsers(dest="memory_command", required=True)
    ms.add_parser(
        "migrate",
        help="re-embed memory written with other embedding settings using the current ones (OBSERVER_EMBEDDING_*)",
    )
    dataset = sub.add_parser("dataset", help="export conversations, build training data for fine-tuning")
    ds = dataset.add_subparsers(dest="dataset_command", required=True)
    export = ds.add_parser("export", help="OpenAI fine-tuning chat JSONL, corrections applied")
    export.add_argument("--out", type=Path, required=True, help="the .jsonl file to write")
    export.add_argument("--guild", type=int, help="only this guild's conversations")
    build = ds.add_parser(
        "build", help="show the training data a job would send: corrections, rated feedback, uploaded examples"
    )
    build.add_argument("--guild", type=int, help="only this server's (default: every server's)")
    build.add_argument("--method", choices=["sft", "dpo"], default="sft")
    build.add_argument("--keep-names", action="store_true", help="keep members' names (default: Member 1, 2 …)")
    build.add_argument("--sample", type=int, default=2, help="how many train lines to print (default 2)")
    build.add_argument("--out", type=Path, help="also write train.jsonl and test.jsonl into this folder")
    example = ds.add_parser("example", help="training examples uploaded by hand")
    es = example.add_subparsers(dest="example_command", required=True)
    add = es.add_parser("add", help="add examples from a JSONL file (chat format, preference format, prompt/answer)")
    add.add_argument("file", type=Path)
    add.add_argument("--label", choices=["positive", "negative"], default="positive")
    add.add_argument("--guild", type=int, help="for this server only (default: every server)")
    remove = es.add_parser("remove", help="remove the examples uploaded from one file (by its name)")
    remove.add_argument("name", help="the file's name as it was added (see `observer dataset build`)")
    remove.add_argument("--guild", type=int, help="that server's (default: those for every server)")


class ProgressBar:
    """One line on stderr, redrawn in place; silent when stderr is not a terminal except at the end."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.tty = out.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.tty or done == total:
            width = 30
            filled = width * done // max(total, 1)
            end = "\n" if done == total else ""
            self.out.write(f"\rembedding [{'#' * filled}{'.' * (width - filled)}] {done}/{total} chunks{end}")
            self.out.flush()


async def persona_command(settings: Settings, args: argparse.Namespace) -> int:
    from agent.memory.ingest import ingest_path
    from agent.memory.persona_files import FileLimits
    from agent.memory.persona_search import persona_search
    from agent.memory.scopes import readable_scopes, scope_of
    from agent.services import build_services

    services = await build_services(settings)
    try:
        if args.persona_command == "ingest":
            report = await ingest_path(
                services.personas,
                services.memory,
                args.path,
                scope=scope_of(args.guild),
                persona=args.persona,
                progress=ProgressBar(),
                channel=args.channel,
                limits=FileLimits.from_settings(settings),
            )
            for warning in report.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            print(report.summary())
        elif args.persona_command == "list":
            for stored in await services.personas.listing(readable_scopes(args.guild, None)):
                first = stored.card.description.strip().splitlines()[0][:80] if stored.card.description else ""
                print(f"{stored.card.name}  [{stored.scope}]  {first}")
        elif args.persona_command == "search":
            found = await asyncio.to_thread(
                persona_search,
                services.memory,
                settings,
                args.query,
                guild=args.guild,
                persona=args.persona,
                channel=args.channel,
                user=args.user,
            )
            print(
                f"persona {found.persona}, scopes {', '.join(found.scopes)}; "
                f"embed {found.embed_ms:.1f} ms, search {found.search_ms:.1f} ms"
            )
            for c in found.candidates:
                mark = "*" if c.chosen else " "
                print(f"{mark} {c.how:>7}  {c.kind:<9} {c.source.rsplit('/', 1)[-1]}: {c.text[:100]!r}")
            print("(* = goes into the reply's prompt, within the token budget)")
        return 0
    finally:
        await services.close()


async def memory_command(settings: Settings, args: argparse.Namespace) -> int:
    """`observer memory migrate`: the one place memory from another embedder is re-embedded and dropped."""
    from agent.memory.chroma import open_chroma
    from agent.memory.knowledge import MemoryStore
    from agent.services import make_embedder

    embedder = make_embedder(settings)
    client = await asyncio.to_thread(open_chroma, settings.data_dir, settings.chroma_url)
    memory = await asyncio.to_thread(MemoryStore, client, embedder, check_embedder=False)
    others = sorted(set(memory.other_embedders().values()))
    if not others:
        print(f"nothing to migrate: all memory is embedded with {embedder.name}")
        return 0
    print(f"re-embedding memory from {', '.join(others)} with {embedder.name}", file=sys.stderr)
    moved = await asyncio.to_thread(memory.migrate_embedder, ProgressBar())
    print(f"migrated {moved} entries to {embedder.name}")
    return 0


async def dataset_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.dataset_command == "build":
        return await _dataset_build(settings, args)
    if args.dataset_command == "example":
        return await _dataset_example(settings, args)
    if args.out.suffix != ".jsonl":
        raise ConfigError(f"--out: {args.out} should end in .jsonl")
    from agent.memory.export import export_conversations
    from agent.services import build_services

    services = await build_services(settings)
    try:
        lines = await export_conversations(services.record, settings.bot_name, args.guild)
    finally:
        await services.close()
    tmp = args.out.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {len(lines)} conversations to {args.out}")
    return 0


async def _dataset_build(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from agent.services import build_services
    from agent.training.dataset import BuiltDataset, build_dataset

    services = await build_services(settings)
    try:
        built = await build_dataset(
            services.record,
            bot_name=settings.bot_name,
            method=args.method,
            guild_id=args.guild,
            keep_names=args.keep_names,
        )
    finally:
        await services.close()
    print(built.summary())
    for row in built.train[: max(args.sample, 0)]:
        print(json.dumps(row, ensure_ascii=False))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "train.jsonl").write_text(BuiltDataset.jsonl(built.train), encoding="utf-8")
        (args.out / "test.jsonl").write_text(BuiltDataset.jsonl(built.test), encoding="utf-8")
        print(f"wrote {args.out / 'train.jsonl'} and {args.out / 'test.jsonl'}")
    return 0


async def _dataset_example(settings: Settings, args: argparse.Namespace) -> int:
    from agent.services import build_services
    from agent.training.dataset import ExampleError, add_examples, parse_examples, remove_examples

    if args.example_command == "remove":
        services = await build_services(settings)
        try:
            removed = await remove_examples(services.record, args.guild, args.name)
        finally:
            await services.close()
        if not removed:
            where = f" for server {args.guild}" if args.guild else " for every server"
            raise ConfigError(f"no examples uploaded from {args.name!r}{where}")
        print(f"removed {removed} examples from {args.name}")
        return 0

    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{args.file}: cannot read it ({exc})") from None
    try:
        examples = parse_examples(text, args.label)
    except ExampleError as exc:
        raise ConfigError(f"{args.file.name}: {exc}; nothing was added") from None
    services = await build_services(settings)
    try:
        stored = await add_examples(services.record, examples, guild_id=args.guild, user_id=None, source=args.file.name)
    finally:
        await services.close()
    print(f"added {stored} examples from {args.file.name}")
    return 0
