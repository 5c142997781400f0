"""Peak memory while reading hostile persona files (issue R: "under 300 MB over the idle bot").

Each file is read in a fresh process by the same code `observer persona ingest` and `/persona add`
run; the process reports its peak resident set (VmHWM) before and after, and what it answered.

    .venv/bin/python -m bench.card_bombs            # this checkout
    PYTHONPATH=/path/to/other .venv/bin/python -m bench.card_bombs   # another checkout's code
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.fakes.documents import itxt_bomb_card, pdf_pages, pdf_stream_bomb, png_card, png_with, ztxt_bomb_card

_CHILD = r"""
import json, sys
from pathlib import Path

def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import pypdf  # noqa: F401  (loaded by a running bot)
from agent.memory.persona_files import read_persona_or_knowledge
idle = hwm()
try:
    got = read_persona_or_knowledge(Path(sys.argv[1]))
    answer = "ACCEPTED: " + type(got).__name__
except Exception as exc:
    answer = f"{type(exc).__name__}: {exc}"
print(json.dumps({"idle": idle, "peak": hwm(), "answer": answer}))
"""


def measure(path: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    """Read one file in a fresh process: {"idle": MiB, "peak": MiB, "answer": text}."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        return {"idle": float("nan"), "peak": float("nan"), "answer": f"process died: {done.returncode}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _tavern(description: str = "A card.", entries: int = 0) -> bytes:
    book = {"entries": [{"keys": [f"k{i}"], "content": f"Entry {i} of the lorebook."} for i in range(entries)]}
    card = {"spec": "chara_card_v2", "data": {"name": "Bomb", "description": description, "character_book": book}}
    return json.dumps(card).encode()


def _empties(size: int) -> bytes:
    """A World Info file of `{}` entries: parsing costs ~27x its size before the entries are counted."""
    return b'{"entries": [' + b"{}," * ((size - 20) // 3) + b"{}]}"


def _deep_json() -> bytes:
    return b'{"name": "Deep", "description": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"


BOMBS: dict[str, Callable[[], tuple[str, bytes]]] = {
    "png zTXt zlib bomb (1 MB -> 1 GB)": lambda: ("ztxt.png", ztxt_bomb_card(1 << 30)),
    "png iTXt compressed bomb (1 MB -> 1 GB)": lambda: ("itxt.png", itxt_bomb_card(1 << 30)),
    "png 50 MB tEXt card": lambda: (
        "text50.png",
        png_with([(b"tEXt", b"chara\0" + base64.b64encode(_tavern("x" * 37_000_000)))]),
    ),
    "png 12 MB tEXt card (under the file cap)": lambda: (
        "text12.png",
        png_with([(b"tEXt", b"chara\0" + base64.b64encode(_tavern("x" * 9_000_000)))]),
    ),
    "png 200,000 chunks": lambda: ("chunks.png", png_with([(b"tEXt", b"k\0v")] * 200_000)),
    "json 37 MB description": lambda: ("desc37.json", _tavern("x" * 37_000_000)),
    "json 5 MB description": lambda: ("desc5.json", _tavern("x" * 5_000_000)),
    "json lorebook of 100,000 entries": lambda: ("lore100k.json", _tavern(entries=100_000)),
    "png lorebook of 100,000 entries": lambda: ("lore100k.png", png_card(json.loads(_tavern(entries=100_000)))),
    "json lorebook of {} entries, 16 MB": lambda: ("empties16.json", _empties(16 * 1024 * 1024 - 64)),
    "json lorebook of {} entries, 8 MB (text cap)": lambda: ("empties8.json", _empties(8 * 1024 * 1024 - 64)),
    "json nested 200,000 deep": lambda: ("deep.json", _deep_json()),
    "pdf of 5,000 pages": lambda: ("pages.pdf", pdf_pages(5000)),
    "pdf content stream bomb (-> 1 GB)": lambda: ("stream.pdf", pdf_stream_bomb(1 << 30)),
}


def main() -> None:
    only = sys.argv[1:]
    print(f"{'file':<44} {'size':>9} {'idle':>8} {'peak':>8} {'over idle':>10}  answer")
    with tempfile.TemporaryDirectory(prefix="observer-bombs-") as tmp:
        for label, build in BOMBS.items():
            if only and not any(o in label for o in only):
                continue
            name, blob = build()
            path = Path(tmp) / name
            path.write_bytes(blob)
            got = measure(path)
            idle, peak = float(got["idle"]), float(got["peak"])  # type: ignore[arg-type]
            print(
                f"{label:<44} {len(blob) / 1e6:>7.1f}MB {idle:>6.0f}MB {peak:>6.0f}MB {peak - idle:>8.0f}MB  "
                f"{str(got['answer']).replace(str(path), name)[:150]}",
                flush=True,
            )
            path.unlink()


if __name__ == "__main__":
    main()
