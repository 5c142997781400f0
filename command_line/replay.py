"""`observer replay`: run a recorded channel transcript through the graph and show each decision.

A transcript is JSON Lines, one message a line:
    {"author": "alice", "text": "hey @Observer ...", "reply_to": 2, "to_bot": true, "attachments": [...]}
`reply_to` is the 1-based line it answers (`to_bot`: the bot's answer to that line).
Runs in a throw-away data dir, so the real record is never touched.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field, ValidationError

from agent.errors import ConfigError
from agent.events import Attachment, event_from_names
from agent.services import Services, build_services
from agent.settings import Settings
from agent.state import Context
from agent.stream import outcome_of
from command_line.run_failures import failed_run


class TranscriptLine(BaseModel):
    author: str = Field(min_length=1, max_length=64)
    text: str = ""
    reply_to: int | None = None
    to_bot: bool = False
    attachments: list[Attachment] = Field(default_factory=list)


@dataclass
class Outcome:
    line: int
    author: str
    text: str
    respond: bool
    reason: str
    model: str | None
    reply: str
    error: str | None

    failed: bool = False  # the run raised: `error` says why

    @property
    def verdict(self) -> str:
        if self.failed:
            return "run failed"
        return f"respond with {self.model}" if self.respond else "no reply"


def read_transcript(path: Path) -> list[TranscriptLine]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such transcript file")
    lines: list[TranscriptLine] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = TranscriptLine.model_validate(json.loads(raw))
        except (json.JSONDecodeError, ValidationError) as exc:
            first = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else _first_error(exc)
            raise ConfigError(f"{path}:{number}: {first}") from None
        if item.reply_to is not None and not 1 <= item.reply_to < number:
            raise ConfigError(f"{path}:{number}: reply_to must name an earlier line (got {item.reply_to})")
        lines.append(item)
    return lines


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


async def replay(
    settings: Settings,
    transcript: list[TranscriptLine],
    *,
    channel: str = "replay",
    mode: str = "mentions",
    cadence: bool = False,
) -> list[Outcome]:
    """Run the transcript; without `cadence` the judge looks at every unprompted message."""
    from graphs.reply import build

    with tempfile.TemporaryDirectory(prefix="observer-replay-") as tmp:
        update: dict[str, Any] = {"data_dir": Path(tmp), "database_url": None, "chroma_url": None}
        if not cadence:
            update["auto_every_n"] = 1
        sandbox = settings.model_copy(update=update)
        services = await build_services(sandbox)
        try:
            return await _run(services, build(services), transcript, channel, mode)
        finally:
            await services.close()


async def _run(
    services: Services, graph: Any, transcript: list[TranscriptLine], channel: str, mode: str
) -> list[Outcome]:
    bot = services.settings.bot_name
    message_ids: dict[int, int] = {}
    bot_reply_ids: dict[int, int] = {}
    outcomes: list[Outcome] = []
    context = Context(bot_name=bot, channel_mode=mode)  # type: ignore[arg-type]
    for number, item in enumerate(transcript, start=1):
        reply_to = None
        if item.reply_to is not None:
            reply_to = (bot_reply_ids if item.to_bot else message_ids).get(item.reply_to)
        event = event_from_names(
            "replay",
            text=item.text,
            author=item.author,
            channel=channel,
            bot_name=bot,
            guild="replay",
            bot_user_id=services.bot_user_id,
            reply_to_id=reply_to,
            reply_to_bot=item.to_bot and reply_to is not None,
            attachments=item.attachments,
        )
        message_ids[number] = event.message_id
        try:
            outcome = outcome_of(await graph.ainvoke({"event": event}, context=context))
        except Exception as exc:  # one line's failure is shown; the transcript goes on
            why = failed_run(exc, recorded=False)
            outcomes.append(Outcome(number, item.author, item.text, False, "failed", None, "", why, failed=True))
            continue
        decision = outcome.decision
        assert decision is not None, "every run decides"
        if outcome.reply_message_id:
            bot_reply_ids[number] = outcome.reply_message_id
        outcomes.append(
            Outcome(
                line=number,
                author=item.author,
                text=item.text,
                respond=decision.respond,
                reason=decision.reason,
                model=outcome.model,
                reply=outcome.reply,
                error=outcome.error.message if outcome.error else None,
            )
        )
    return outcomes


def print_outcomes(outcomes: list[Outcome], bot_name: str, out: TextIO) -> None:
    for o in outcomes:
        print(f"[{o.line}] {o.author}: {_one_line(o.text)}", file=out)
        print(f"    → {o.verdict} ({o.reason})", file=out)
        if o.reply:
            print(f"    {bot_name}: {_one_line(o.reply)}", file=out)
        if o.error:
            print(f"    (error: {o.error})", file=out)


def print_diff(old: list[Outcome], new: list[Outcome], out: TextIO) -> int:
    """The lines whose decision differs between two runs; a line that failed in either run is shown
    with why (a failure in both is not a change, but is not hidden either)."""
    changed = 0
    for before, after in zip(old, new, strict=True):
        if before.failed or after.failed:
            changed += before.verdict != after.verdict
            print(f"[{after.line}] {after.author}: {_one_line(after.text)}", file=out)
            for label, run in (("old prompts", before), ("new prompts", after)):
                why = f" ({run.error})" if run.failed else f" ({run.reason})"
                print(f"    {label}: {run.verdict}{why}", file=out)
        elif before.verdict != after.verdict:
            changed += 1
            print(f"[{after.line}] {after.author}: {_one_line(after.text)}", file=out)
            print(f"    old prompts: {before.verdict} ({before.reason})", file=out)
            print(f"    new prompts: {after.verdict} ({after.reason})", file=out)
    print(f"{changed} of {len(new)} decisions changed", file=out)
    return changed


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
