"""Reading a PDF's text through `pdf_worker` in a child process, bounded in pages, characters, memory and time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
from dataclasses import dataclass


class PdfUnreadable(ValueError):
    """Why a PDF gave no text (malformed, encrypted, over a bound); safe to show a member."""


@dataclass(frozen=True)
class PdfText:
    text: str
    pages_read: int
    pages: int
    cut: bool


async def pdf_text(data: bytes, *, max_pages: int, max_chars: int, memory_mb: int, timeout_s: float) -> PdfText:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent.attachments.pdf_worker",
        str(max_pages),
        str(max_chars),
        str(memory_mb),
        str(max(1, math.ceil(timeout_s))),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(data), timeout=timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise PdfUnreadable(f"reading it took longer than {timeout_s:g} s") from None
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise
    try:
        result = json.loads(out)
    except ValueError:
        # Killed by its CPU or memory limit before it could answer.
        raise PdfUnreadable("it needs more memory or time than allowed to read") from None
    if "error" in result:
        raise PdfUnreadable(str(result["error"]))
    return PdfText(str(result["text"]), int(result["pages_read"]), int(result["pages"]), bool(result["cut"]))
