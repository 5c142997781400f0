"""What prompt hot-reload costs per message (issue F: at most a stat per prompt, no re-read of unchanged files).

Counts the `os.stat` calls the prompt library makes and the files it reads while messages run
through the whole graph (judge and generate both render), then edits one prompt and counts again.

    .venv/bin/python -m bench.prompt_reload [N]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from agent.loop import run_async
from agent.settings import REPO_PROMPTS_DIR
from bench.harness import bench_services, fake_model_process
from tests.conftest import make_event, run_graph

stats = 0
_real_stat = os.stat
_watched: list[str] = []


def counting_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
    """os.stat, counting calls on prompt files and override folders only."""
    global stats
    if any(str(path).startswith(w) for w in _watched):
        stats += 1
    return _real_stat(path, *args, **kwargs)


async def main(n: int) -> None:
    global stats
    with tempfile.TemporaryDirectory() as tmp:
        prompts_dir = Path(tmp) / "prompts"
        shutil.copytree(REPO_PROMPTS_DIR, prompts_dir)
        async with fake_model_process(0.0) as url, bench_services(url) as (svc, _):
            svc.prompts.base_dir = prompts_dir
            _watched.extend([str(prompts_dir), str(svc.prompts.override_root)])
            os.stat = counting_stat
            await run_graph(svc, make_event("@Observer warm up", mentions_bot=True))
            stats, reads = 0, svc.prompts.reads
            renders = 0
            started = time.perf_counter()
            for i in range(n):
                await run_graph(svc, make_event(f"@Observer question {i}", mentions_bot=True))
                renders += 1  # system prompt (the judge is skipped for a mention with one model)
            elapsed = time.perf_counter() - started
            print(
                f"{n} messages: {stats} prompt stats ({stats / renders:.1f} per rendered prompt),"
                f" {svc.prompts.reads - reads} file reads"
            )
            path = prompts_dir / "system.md"
            path.write_text(path.read_text().replace("briefly", "very briefly"))
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
            reads = svc.prompts.reads
            await run_graph(svc, make_event("@Observer after the edit", mentions_bot=True))
            await run_graph(svc, make_event("@Observer and once more", mentions_bot=True))
            print(f"after editing system.md: {svc.prompts.reads - reads} file read over the next 2 messages")
            print(f"(messages ran at {n / elapsed:.0f}/s against an instant fake model)")


if __name__ == "__main__":
    run_async(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
