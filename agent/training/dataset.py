"""Training data from the record: what members taught the bot, as fine-tuning JSONL.

Three sources, per server (or all of them):
- corrections (`/correct`): the conversation up to the bot's answer, then the member's correction —
  a supervised example, and a preference pair (correction preferred over the bot's answer);
- feedback rated good or bad (`/feedback rating:`): a good answer is a supervised example; a bad one
  is the rejected side of a pair when the same prompt has a preferred answer elsewhere;
- uploaded examples (`/train example add`): positive ones are supervised examples, negative ones the
  rejected side of a pair.

Examples are deduplicated (same prompt and answer once), member names are replaced by roles ("Member 1",
"Member 2", in the order they speak in each example) unless the operator keeps them, and split into
train and held-out test parts by a hash of the prompt: the same record always gives the same split, and
one prompt never lands in both.

Formats, as OpenAI's fine-tuning API takes them:
- sft: `{"messages": [system, user…, assistant]}` per line;
- dpo: `{"input": {"messages": [...]}, "preferred_output": [assistant], "non_preferred_output": [assistant]}`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select

from agent.events import ChatLine
from agent.memory import tables
from agent.memory.record import Record

Method = Literal["sft", "dpo"]
METHODS: tuple[Method, ...] = ("sft", "dpo")
CONTEXT_MESSAGES = 10
TEST_PERCENT = 10
# Below this many prompts there is no held-out part worth measuring; at or above it, at least one.
MIN_FOR_TEST = 5
MENTION = re.compile(r"<@!?\d+>")


class ExampleError(ValueError):
    """An uploaded example that cannot be read; the message names the line and what is wrong."""


@dataclass
class Candidate:
    """One prompt (the conversation before the answer) and what is known about answers to it."""

    prompt: list[dict[str, str]]
    preferred: list[tuple[str, str]] = field(default_factory=list)  # (answer, source)
    rejected: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class BuiltDataset:
    """What would be sent: `train` and `test` are JSON-ready rows in the method's format."""

    method: Method
    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    sources: dict[str, int]  # examples read per source (before deduplication): correction, feedback, upload
    duplicates: int  # examples dropped as repeats of another
    unpaired: int  # dpo: prompts with no preferred or no rejected answer, left out

    @staticmethod
    def jsonl(rows: Iterable[dict[str, Any]]) -> str:
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)

    def summary(self) -> str:
        read = ", ".join(f"{n} from {source}s" for source, n in sorted(self.sources.items())) or "nothing"
        extra = f"; {self.unpaired} prompts without a pair left out" if self.method == "dpo" else ""
        return (
            f"{self.method}: {len(self.train)} train + {len(self.test)} test examples "
            f"(read {read}; {self.duplicates} duplicates dropped{extra})"
        )


def system_prompt(bot_name: str) -> str:
    return f"You are {bot_name}, a member of a Discord community."


def _bucket(prompt: list[dict[str, str]]) -> int:
    """0-99 from the prompt's words (the system message left out, so a renamed bot splits the same)."""
    body = json.dumps([m for m in prompt if m["role"] != "system"], ensure_ascii=False, sort_keys=True)
    return int(hashlib.sha256(body.encode()).hexdigest()[:8], 16) % 100


def _prompt_key(prompt: list[dict[str, str]]) -> str:
    body = [(m["role"], " ".join(m["content"].split())) for m in prompt if m["role"] != "system"]
    return json.dumps(body, ensure_ascii=False)


class Anonymiser:
    """Member names → "Member 1", "Member 2"… in the order they appear in one example."""

    def __init__(self, keep_names: bool, bot_name: str) -> None:
        self.keep = keep_names
        self.bot_name = bot_name

    def conversation(self, lines: list[tuple[str, str, bool]]) -> list[dict[str, str]]:
        """(author, text, is_bot) oldest first → chat messages, user lines as "name: text"."""
        roles: dict[str, str] = {}
        for author, _text, is_bot in lines:
            if not is_bot and author not in roles:
                roles[author] = f"Member {len(roles) + 1}"
        out: list[dict[str, str]] = []
        for author, text, is_bot in lines:
            text = self.text(text, roles)
            if is_bot:
                out.append({"role": "assistant", "content": text})
            else:
                out.append({"role": "user", "content": f"{author if self.keep else roles[author]}: {text}"})
        return out

    def text(self, text: str, roles: dict[str, str]) -> str:
        if self.keep:
            return text
        text = MENTION.sub("@member", text)
        # Longest names first, so "Ann" does not eat into "Annabel".
        for name in sorted(roles, key=len, reverse=True):
            if len(name) >= 2 and name != self.bot_name:
                text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", roles[name], text, flags=re.IGNORECASE)
        return text


async def _replies_about(record: Record, kind: str, guild_id: int | None) -> list[Any]:
    """Feedback rows of one kind that point at a live, non-private bot reply, oldest first."""
    query = (
        select(
            tables.feedback.c.id,
            tables.feedback.c.message_id,
            tables.feedback.c.text,
            tables.feedback.c.rating,
            tables.messages.c.channel_id,
        )
        .join(tables.messages, tables.messages.c.id == tables.feedback.c.message_id)
        .where(
            tables.feedback.c.kind == kind,
            tables.messages.c.deleted_at.is_(None),
            tables.messages.c.private.is_(False),
        )
        .order_by(tables.feedback.c.id)
    )
    if guild_id is not None:
        query = query.where(tables.feedback.c.guild_id == guild_id)
    await record.flush()
    async with record.engine.connect() as conn:
        return list((await conn.execute(query)).all())


def _before_answer(lines: list[ChatLine], reply_id: int) -> tuple[list[ChatLine], ChatLine] | None:
    """The conversation before the reply (from the first member's line) and the reply itself."""
    if not lines or lines[-1].message_id != reply_id or not lines[-1].is_bot:
        return None
    before = lines[:-1]
    while before and before[0].is_bot:
        before = before[1:]
    before = [line for line in before if line.is_bot or line.text.strip()]
    if not before or before[-1].is_bot:
        return None
    return before, lines[-1]


async def _from_replies(
    record: Record, guild_id: int | None, anonymiser: Anonymiser, system: str
) -> tuple[list[Candidate], dict[str, int]]:
    out: list[Candidate] = []
    counts: dict[str, int] = {}
    latest_correction: dict[int, Any] = {}
    for row in await _replies_about(record, "correction", guild_id):
        latest_correction[int(row.message_id)] = row  # a later correction of the same answer wins
    rated = [r for r in await _replies_about(record, "feedback", guild_id) if r.rating in ("good", "bad")]
    for row in [*latest_correction.values(), *rated]:
        lines = await record.window(int(row.channel_id), CONTEXT_MESSAGES, before_id=int(row.message_id) + 1)
        found = _before_answer(lines, int(row.message_id))
        if found is None:
            continue
        before, answer = found
        chat = anonymiser.conversation([(line.author, line.text, line.is_bot) for line in [*before, answer]])
        prompt = [{"role": "system", "content": system}, *chat[:-1]]
        said = chat[-1]["content"]
        if row.rating is None:  # a correction
            roles = {name: role for name, role in _roles(before)}
            corrected = anonymiser.text(row.text, roles)
            out.append(Candidate(prompt, preferred=[(corrected, "correction")], rejected=[(said, "correction")]))
            counts["correction"] = counts.get("correction", 0) + 1
        elif row.rating == "good":
            out.append(Candidate(prompt, preferred=[(said, "feedback")]))
            counts["feedback"] = counts.get("feedback", 0) + 1
        else:
            out.append(Candidate(prompt, rejected=[(said, "feedback")]))
            counts["feedback"] = counts.get("feedback", 0) + 1
    return out, counts


def _roles(lines: list[ChatLine]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for line in lines:
        if not line.is_bot and line.author not in seen:
            seen[line.author] = f"Member {len(seen) + 1}"
    return list(seen.items())


async def _from_uploads(
    record: Record, guild_id: int | None, system: str, source: str | None = None, shared: bool = True
) -> tuple[list[Candidate], int]:
    query = select(tables.training_examples).order_by(tables.training_examples.c.id)
    if source is not None:
        query = query.where(tables.training_examples.c.source == source)
    if guild_id is not None:
        own = tables.training_examples.c.guild_id == guild_id
        query = query.where(own | tables.training_examples.c.guild_id.is_(None) if shared else own)
    async with record.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    out: list[Candidate] = []
    for row in rows:
        messages = [dict(m) for m in row.messages]
        if not messages or messages[-1].get("role") != "assistant":
            continue
        prompt = [m for m in messages[:-1]]
        if prompt[0]["role"] != "system":
            prompt.insert(0, {"role": "system", "content": system})
        answer = (str(messages[-1]["content"]), "upload")
        if row.label == "positive":
            out.append(Candidate(prompt, preferred=[answer]))
        else:
            out.append(Candidate(prompt, rejected=[answer]))
    return out, len(rows)


def _merge(candidates: list[Candidate]) -> tuple[list[Candidate], int]:
    """One candidate per prompt, each answer once; returns them and how many repeats were dropped."""
    merged: dict[str, Candidate] = {}
    duplicates = 0
    for c in candidates:
        key = _prompt_key(c.prompt)
        into = merged.setdefault(key, Candidate(c.prompt))
        for side, items in ((into.preferred, c.preferred), (into.rejected, c.rejected)):
            for answer, source in items:
                norm = " ".join(answer.split())
                if any(" ".join(a.split()) == norm for a, _ in side):
                    duplicates += 1
                else:
                    side.append((answer, source))
    # An answer both preferred and rejected (a member rated it good, another corrected it): the
    # correction is the newer word; it is not taught as right.
    for c in merged.values():
        rejected = {" ".join(a.split()) for a, _ in c.rejected}
        c.preferred = [(a, s) for a, s in c.preferred if " ".join(a.split()) not in rejected]
    return list(merged.values()), duplicates


def _rows(c: Candidate, method: Method) -> list[dict[str, Any]]:
    if method == "sft":
        return [{"messages": [*c.prompt, {"role": "assistant", "content": a}]} for a, _ in c.preferred]
    return [
        {
            "input": {"messages": c.prompt},
            "preferred_output": [{"role": "assistant", "content": good}],
            "non_preferred_output": [{"role": "assistant", "content": bad}],
        }
        for good, _ in c.preferred
        for bad, _ in c.rejected
    ]


def split(candidates: list[Candidate], test_percent: int = TEST_PERCENT) -> tuple[list[Candidate], list[Candidate]]:
    """Train and test parts by a hash of each prompt (deterministic; a prompt is never in both). With at
    least MIN_FOR_TEST prompts the test part holds at least one (the lowest hash)."""
    ordered = sorted(candidates, key=lambda c: (_bucket(c.prompt), _prompt_key(c.prompt)))
    test = [c for c in ordered if _bucket(c.prompt) < test_percent]
    if not test and len(ordered) >= MIN_FOR_TEST:
        test = ordered[:1]
    chosen = {id(c) for c in test}
    return [c for c in candidates if id(c) not in chosen], [c for c in candidates if id(c) in chosen]


async def build_dataset(
    record: Record,
    *,
    bot_name: str,
    method: Method = "sft",
    guild_id: int | None = None,
    keep_names: bool = False,
    test_percent: int = TEST_PERCENT,
    source: str | None = None,
    shared: bool = True,
) -> BuiltDataset:
    """The dataset a job would train on, from the record as it is now. `guild_id` None: every server's.
    `source`: only the examples uploaded from that file (a named dataset), no corrections or feedback.
    `shared`: with a server, also the host operator's examples for every server (trained on, but never
    shown to a server's admins: an archive or a test report leaves them out)."""
    system = system_prompt(bot_name)
    anonymiser = Anonymiser(keep_names, bot_name)
    from_replies: list[Candidate] = []
    sources: dict[str, int] = {}
    if source is None:  # a named dataset is one upload's examples only
        from_replies, sources = await _from_replies(record, guild_id, anonymiser, system)
    uploads, uploaded = await _from_uploads(record, guild_id, system, source, shared)
    if uploaded:
        sources["upload"] = uploaded
    merged, duplicates = _merge([*from_replies, *uploads])
    usable = [c for c in merged if c.preferred and (method == "sft" or c.rejected)]
    unpaired = sum(1 for c in merged if c.preferred or c.rejected) - len(usable) if method == "dpo" else 0
    train, test = split(usable, test_percent)
    return BuiltDataset(
        method=method,
        train=[row for c in train for row in _rows(c, method)],
        test=[row for c in test for row in _rows(c, method)],
        sources=sources,
        duplicates=duplicates,
        unpaired=unpaired,
    )


# ----- uploaded examples -----

_ANSWER_KEYS = ("answer", "completion", "response", "output")
# One example's words at most: a provider refuses a training file with an example beyond its window
# (and a whole job with it), so one is refused as it is added, not every job after it.
MAX_EXAMPLE_CHARS = 20_000
_PROMPT_KEYS = ("prompt", "question", "input")


def _chat_messages(value: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise ExampleError(f"{where}: 'messages' must be a non-empty list")
    out: list[dict[str, str]] = []
    for i, m in enumerate(value, 1):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise ExampleError(f"{where}, message {i}: role must be system, user or assistant")
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            raise ExampleError(f"{where}, message {i}: content must be a non-empty string")
        # NUL is no text (and PostgreSQL refuses it in a text or JSON column).
        out.append({"role": m["role"], "content": m["content"].replace("\x00", "")})
    if out[-1]["role"] != "assistant":
        raise ExampleError(f"{where}: the last message must be the assistant's answer")
    if not any(m["role"] == "user" for m in out):
        raise ExampleError(f"{where}: no user message before the answer")
    size = sum(len(m["content"]) for m in out)
    if size > MAX_EXAMPLE_CHARS:
        raise ExampleError(f"{where}: the example is {size:,} characters; at most {MAX_EXAMPLE_CHARS:,}")
    return out


def parse_examples(text: str, label: Literal["positive", "negative"]) -> list[tuple[str, list[dict[str, str]]]]:
    """(label, messages) per example in an upload: JSON lines in OpenAI's chat format
    (`{"messages": [...]}`), its preference format (a positive and a negative example), or prompt/answer
    pairs (`{"prompt": …, "answer": …}`; also completion/response/output); or a JSON array of them.
    Blank lines are skipped. ExampleError names the first line (or array item) that cannot be read."""
    out: list[tuple[str, list[dict[str, str]]]] = []
    for where, item in _items(text.removeprefix("\ufeff")):
        if not isinstance(item, dict):
            raise ExampleError(f"{where}: expected a JSON object")
        if "messages" in item:
            out.append((label, _chat_messages(item["messages"], where)))
        elif "preferred_output" in item:
            given = item.get("input")
            prompt = given.get("messages") if isinstance(given, dict) else None
            for key, side in (("preferred_output", "positive"), ("non_preferred_output", "negative")):
                answer = item.get(key)
                if not isinstance(answer, list) or len(answer) != 1:
                    raise ExampleError(f"{where}: '{key}' must be a list of one assistant message")
                out.append((side, _chat_messages([*(prompt or []), *answer], where)))
        else:
            prompt_text = next((item[k] for k in _PROMPT_KEYS if isinstance(item.get(k), str)), None)
            answer_text = next((item[k] for k in _ANSWER_KEYS if isinstance(item.get(k), str)), None)
            if prompt_text is None or answer_text is None:
                raise ExampleError(f"{where}: expected 'messages', or a 'prompt' and an 'answer'")
            out.append((label, pair(prompt_text, answer_text, where)))
    if not out:
        raise ExampleError("no examples in the file")
    return out


def _loads(raw: str, where: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ExampleError(f"{where}: not JSON ({exc.msg})") from None
    except RecursionError:
        raise ExampleError(f"{where}: nested too deeply to be an example") from None


def _items(text: str) -> Iterable[tuple[str, Any]]:
    """(where, parsed value) per example: each line of JSONL, or each item of one JSON array."""
    if text.lstrip().startswith("["):
        value = _loads(text, "the file")
        if isinstance(value, list):
            yield from ((f"item {i}", item) for i, item in enumerate(value, 1))
            return
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            yield f"line {number}", _loads(raw, f"line {number}")


def pair(prompt: str, answer: str, where: str = "example") -> list[dict[str, str]]:
    """A prompt/answer pair as chat messages; ExampleError when either is empty or too long."""
    if not prompt.strip() or not answer.strip():
        raise ExampleError(f"{where}: the prompt and the answer must not be empty")
    size = len(prompt) + len(answer)
    if size > MAX_EXAMPLE_CHARS:
        raise ExampleError(f"{where}: the example is {size:,} characters; at most {MAX_EXAMPLE_CHARS:,}")
    clean = [t.strip().replace("\x00", "") for t in (prompt, answer)]
    return [{"role": "user", "content": clean[0]}, {"role": "assistant", "content": clean[1]}]


async def add_examples(
    record: Record,
    examples: list[tuple[str, list[dict[str, str]]]],
    *,
    guild_id: int | None,
    user_id: int | None,
    source: str,
) -> int:
    """Store parsed examples (from `parse_examples` or `pair`); returns how many were stored."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    rows = [
        {
            "created_at": now,
            "guild_id": guild_id,
            "user_id": user_id,
            "label": label,
            "messages": messages,
            "source": source[:120],
        }
        for label, messages in examples
    ]
    if rows:
        async with record.engine.begin() as conn:
            await conn.execute(tables.training_examples.insert(), rows)
    return len(rows)


async def count_examples(record: Record, guild_id: int | None) -> dict[str, int]:
    """Uploaded examples per label for a server (`guild_id` None: all)."""
    query = select(tables.training_examples.c.label)
    if guild_id is not None:
        query = query.where(tables.training_examples.c.guild_id == guild_id)
    async with record.engine.connect() as conn:
        labels = (await conn.execute(query)).scalars().all()
    return {label: labels.count(label) for label in sorted(set(labels))}


async def example_sources(record: Record, guild_id: int | None) -> dict[str, int]:
    """Uploaded examples per source (the file they came from, or "inline"): the named datasets a job or a
    test can be given."""
    from sqlalchemy import func

    query = select(tables.training_examples.c.source, func.count()).group_by(tables.training_examples.c.source)
    if guild_id is not None:
        query = query.where(tables.training_examples.c.guild_id == guild_id)
    async with record.engine.connect() as conn:
        return {str(source): int(n) for source, n in (await conn.execute(query)).all()}


async def remove_examples(record: Record, guild_id: int | None, source: str) -> int:
    """Remove the examples uploaded from one file (`guild_id` None: the host's for every server);
    returns how many were removed."""
    from sqlalchemy import delete

    t = tables.training_examples
    where = t.c.guild_id.is_(None) if guild_id is None else t.c.guild_id == guild_id
    async with record.engine.begin() as conn:
        return int((await conn.execute(delete(t).where(where, t.c.source == source))).rowcount or 0)
