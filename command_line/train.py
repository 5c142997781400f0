"""`observer train start|status|list|cancel|watch` and `observer test`: the same code as `/train` and
`/test`."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path

from agent.errors import ConfigError
from agent.settings import Settings


def _epochs(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 50:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of passes from 1 to 50")
    return int(text)


def _writable(path: Path, option: str) -> None:
    """Refused before any model is asked (each answer may cost): the file's folder must exist."""
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise ConfigError(f"{option}: no folder {folder} to write {path.name} in")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    train = sub.add_parser("train", help="fine-tune a model on what members taught the bot")
    ts = train.add_subparsers(dest="train_command", required=True)
    start = ts.add_parser("start", help="queue a job on a fine_tunable model with the built dataset")
    start.add_argument("--base", help="a model of the list marked fine_tunable (default: the first such)")
    start.add_argument("--method", choices=["sft", "dpo"], default="sft")
    start.add_argument("--guild", type=int, help="this server's data only (default: every server's)")
    start.add_argument("--epochs", type=_epochs, default=3, help="passes over the data, 1-50 (default 3)")
    start.add_argument("--dataset", help="only the examples uploaded from this file (see `observer dataset build`)")
    status = ts.add_parser("status", help="a job's state, progress, base, data size, method, cost or CPU time")
    status.add_argument("job", type=int, nargs="?", help="the job's number (default: the newest)")
    listing = ts.add_parser("list", help="the newest jobs")
    listing.add_argument("--guild", type=int)
    cancel = ts.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job", type=int)
    watch = ts.add_parser("watch", help="drive the jobs (as `observer run` does) until none is active")
    watch.add_argument("--forever", action="store_true", help="keep watching for new jobs")

    test = sub.add_parser("test", help="run a test set through a model, or two side by side, and score them")
    test.add_argument("--model", help="the model to test (default: the newest trained one, else the default)")
    test.add_argument("--against", help="a second model answering beside it (default with a trained model: its base)")
    given = test.add_mutually_exclusive_group()
    given.add_argument("--file", type=Path, help="a JSONL test set (default: the held-out part of the data)")
    given.add_argument("--json", help="a test set as inline JSON")
    test.add_argument("--guild", type=int, help="this server's data and trained models (default: every server's)")
    test.add_argument("--grader", help="a model of the list that judges each answer right or wrong")
    test.add_argument("--chart", type=Path, default=Path("observer-test.png"), help="where to write the chart (PNG)")
    test.add_argument("--details", type=Path, help="also write the per-example report (Markdown) here")


async def train_command(settings: Settings, args: argparse.Namespace) -> int:
    from agent.services import build_services
    from agent.training import show
    from agent.training.jobs import JobStore, LocalJobBusy
    from agent.training.runner import RunnerOptions, TrainingError, TrainingRunner, cancel_job, start_job

    services = await build_services(settings)
    store = JobStore(services.record.engine)
    registry = services.registry
    try:
        if args.train_command == "start":
            base = args.base or next((m.name for m in registry.specs if m.fine_tunable), None)
            if base is None:
                raise ConfigError("no model in the list is marked fine_tunable = true")
            if args.dataset is not None:
                from agent.training.dataset import example_sources

                if args.dataset not in await example_sources(services.record, args.guild):
                    raise ConfigError(f"no examples uploaded from {args.dataset!r}; see `observer dataset build`")
            try:
                job = await start_job(
                    store,
                    registry,
                    services.record,
                    data_dir=settings.data_dir,
                    bot_name=settings.bot_name,
                    base=base,
                    method=args.method,
                    epochs=args.epochs,
                    guild_id=args.guild,
                    keep_names=settings.training_keep_names,
                    threads=settings.training_threads,
                    source=args.dataset,
                )
            except (TrainingError, LocalJobBusy) as exc:
                raise ConfigError(str(exc)) from None
            print(f"queued training job #{job.id} on {job.base} ({job.method}, {job.train_examples} examples)")
            print("it runs while `observer run` (or `observer train watch`) is running")
        elif args.train_command == "status":
            found = await store.get(args.job) if args.job else next(iter(await store.listing(limit=1)), None)
            if found is None:
                raise ConfigError(f"no training job #{args.job}" if args.job else "no training jobs yet")
            print(show.status(found).replace("**", ""))
        elif args.train_command == "list":
            jobs = await store.listing(args.guild, limit=20)
            print("\n".join(show.line(j) for j in jobs) or "no training jobs yet")
        elif args.train_command == "cancel":
            found = await store.get(args.job)
            if found is None:
                raise ConfigError(f"no training job #{args.job}")
            if not await cancel_job(store, registry, found):
                print(f"job #{found.id} had already {found.state}")
                return 1
            print(f"cancelled training job #{found.id}")
        elif args.train_command == "watch":
            options = RunnerOptions(
                poll_seconds=settings.training_poll_seconds, lease_seconds=settings.training_lease_seconds
            )
            holder = f"{socket.gethostname()[:24]}:{os.getpid()}"

            async def said(job: object) -> None:
                print(show.status(job).replace("**", "").splitlines()[1], flush=True)  # type: ignore[arg-type]

            runner = TrainingRunner(store, registry, settings.data_dir, holder, options, on_change=said)
            while True:
                await runner.pass_once()
                if not args.forever and not await store.active():
                    break
                await asyncio.sleep(options.poll_seconds)
            print("no active training jobs", file=sys.stderr)
        return 0
    finally:
        await services.close()


async def test_command(settings: Settings, args: argparse.Namespace) -> int:
    from agent.services import build_services
    from agent.training.model_test import TestRefused, run_model_test

    text = args.json
    if args.file is not None:
        try:
            text = args.file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{args.file}: cannot read it ({exc})") from None
    if args.chart.suffix.lower() != ".png":
        raise ConfigError(f"--chart: {args.chart} should end in .png")
    _writable(args.chart, "--chart")
    if args.details is not None:
        _writable(args.details, "--details")
    services = await build_services(settings)
    try:

        async def progress(done: int, total: int) -> None:
            if sys.stderr.isatty():
                print(f"\r{done}/{total} answers", end="" if done < total else "\n", file=sys.stderr, flush=True)

        try:
            result = await run_model_test(
                services,
                guild_id=args.guild,
                model=args.model,
                against=args.against,
                text=text,
                grader=args.grader,
                on_progress=progress,
            )
        except TestRefused as exc:
            raise ConfigError(f"not tested: {exc}") from None
    finally:
        await services.close()
    details = result.report.details()
    print(details.replace("**", ""))
    args.chart.write_bytes(result.chart)
    print(f"chart: {args.chart}")
    if args.details is not None:
        args.details.write_text(details, encoding="utf-8")
        print(f"details: {args.details}")
    return 0
