"""`/dataset archive`: a server's stored data as one zip, for the operator to keep or move.

In the zip:
- `knowledge/<document>.md`: each document of `/dataset add` as the bot knows it (its chunks, in the
  order stored; the uploaded file itself is not kept);
- `training/sft-train.jsonl`, `sft-test.jsonl`, `dpo-train.jsonl`, `dpo-test.jsonl`: the training data a
  job would send now (OpenAI's formats; member names replaced unless the operator keeps them);
- `training/examples.jsonl`: the uploaded examples as stored, each with its label and source;
- `README.txt`: what each file holds, when it was made and how many of each.
Private exchanges are never in it: the training data leaves them out, knowledge holds none.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from agent.memory import tables
from agent.memory.scopes import scope_of
from agent.services import Services
from agent.training.dataset import METHODS, BuiltDataset, build_dataset


def _doc_name(source: str, taken: set[str]) -> str:
    """A file name inside the zip from a document's label: base name only, harmless characters, unique."""
    base = re.sub(r"[^\w.\-]", "_", source.removeprefix("discord:").replace("\\", "/").rsplit("/", 1)[-1])
    base = base.lstrip(".")[:100] or "document"
    stem, suffix = (base.rsplit(".", 1)[0], "." + base.rsplit(".", 1)[1]) if "." in base else (base, "")
    if suffix.lower() not in (".md", ".txt"):  # a PDF's text, say: stored as text, named as text
        stem, suffix = base, ".md"
    name, n = stem + suffix, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}{suffix}"
    taken.add(name)
    return name


async def server_archive(services: Services, guild_id: int) -> tuple[bytes, dict[str, int]]:
    """The zip's bytes and what is in it (documents, examples per file)."""
    entries = await asyncio.to_thread(services.memory.entries, scope_of(guild_id), {"kind": "knowledge"})
    documents: dict[str, list[str]] = {}
    for text, meta in entries:
        documents.setdefault(str(meta.get("source", "")), []).append(text)
    settings = services.settings
    built: dict[str, BuiltDataset] = {}
    for method in METHODS:
        built[method] = await build_dataset(
            services.record,
            bot_name=settings.bot_name,
            method=method,
            guild_id=guild_id,
            keep_names=settings.training_keep_names,
            shared=False,  # the host operator's examples for every server are not this server's to take
        )
    query = (
        select(tables.training_examples)
        .where(tables.training_examples.c.guild_id == guild_id)
        .order_by(tables.training_examples.c.id)
    )
    async with services.record.engine.connect() as conn:
        uploads = [
            {"label": r.label, "source": r.source, "messages": r.messages} for r in (await conn.execute(query)).all()
        ]
    counts: dict[str, int] = {"documents": len(documents)}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        taken: set[str] = set()
        for source, chunks in sorted(documents.items()):
            zf.writestr(f"knowledge/{_doc_name(source, taken)}", "\n\n".join(chunks) + "\n")
        for kind, data in built.items():
            for part, rows in (("train", data.train), ("test", data.test)):
                zf.writestr(f"training/{kind}-{part}.jsonl", BuiltDataset.jsonl(rows))
                counts[f"{kind}-{part}"] = len(rows)
        zf.writestr("training/examples.jsonl", "".join(json.dumps(u, ensure_ascii=False) + "\n" for u in uploads))
        counts["examples"] = len(uploads)
        zf.writestr("README.txt", _readme(guild_id, counts, built))
    return out.getvalue(), counts


def _readme(guild_id: int, counts: dict[str, Any], built: dict[str, BuiltDataset]) -> str:
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Observer: the stored data of server {guild_id}, made {made}.\n\n"
        f"knowledge/: {counts['documents']} documents added with /dataset add, as the bot knows them "
        "(their chunks in the order stored).\n"
        "training/sft-*.jsonl: supervised examples in OpenAI's chat fine-tuning format; "
        f"{built['sft'].summary()}.\n"
        "training/dpo-*.jsonl: preference pairs in OpenAI's preference format; "
        f"{built['dpo'].summary()}.\n"
        f"training/examples.jsonl: {counts['examples']} examples uploaded with /train example add, as stored.\n"
        "Member names are replaced by Member 1, Member 2 … unless the operator keeps them; "
        "private exchanges are never included.\n"
    )
