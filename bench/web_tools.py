"""Issue N's figures for fetch_url: its time and size bounds hold under a slow and a huge page.

Real HTTP servers on 127.0.0.1 (tests/fakes/web_server.py, listed in `allowed_private_hosts`): a normal
article, a 50 MB page, a gzip bomb (50 MB of zeros in ~50 KB) and a page that drips one byte every
0.2 s forever, each read through the tool as the model calls it, with the default caps (`[web.fetch]`:
max_bytes 2,000,000, timeout_s 10). For each: wall time, what the tool read, what the server managed to
send before the tool hung up, and Python's peak allocation during a second call (tracemalloc; the server
runs in the same process, so its own buffers count too).

    .venv/bin/python -m bench.web_tools [--max-bytes N] [--timeout S]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc

from agent.loop import run_async
from agent.tools.base import ToolRun
from agent.tools.config import WebFetchSpec, WebToolsSpec
from agent.tools.toolbox import Toolbox
from agent.tools.web import web_tools
from tests.conftest import make_event
from tests.fakes.web_server import MB, FakeWeb


async def main(max_bytes: int, timeout_s: float) -> None:
    site = FakeWeb()
    await site.start()
    site.bomb_body()  # the server's own 50 MB, built before anything is measured
    spec = WebFetchSpec(
        enabled=True, allowed_private_hosts=[f"127.0.0.1:{site.port}"], max_bytes=max_bytes, timeout_s=timeout_s
    )
    box = Toolbox(web_tools(WebToolsSpec(fetch=spec), 1000), result_tokens=1000)
    run = ToolRun(make_event("read this"))
    print(f"fetch_url caps: max_bytes {max_bytes:,}, timeout_s {timeout_s:g}; pages on {site.base}")
    print(f"{'page':10} {'outcome':8} {'wall s':>7} {'server sent':>14} {'finished':>8} {'peak MB':>8}  result")
    try:
        for name, path in [("article", "/article"), ("huge 50MB", "/huge"), ("gzip bomb", "/bomb"), ("slow", "/slow")]:
            started = time.perf_counter()
            outcome = await box.call("fetch_url", {"url": site.base + path}, run)
            wall = time.perf_counter() - started
            served = site.served.pop(path.strip("/"), None)
            if served is not None:
                await served.gone.wait()  # the server saw the hang-up: what it sent is final
            sent = f"{served.sent:,}" if served else "-"
            done = str(served.finished) if served else "-"
            # Again for memory: tracemalloc slows every allocation, so it is not on while timing.
            tracemalloc.start()
            await box.call("fetch_url", {"url": site.base + path}, run)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            again = site.served.pop(path.strip("/"), None)
            if again is not None:
                await again.gone.wait()
            first = next((line for line in outcome.result.splitlines() if line.startswith("(")), outcome.result)
            print(f"{name:10} {outcome.outcome:8} {wall:7.2f} {sent:>14} {done:>8} {peak / MB:8.1f}  {first[:90]}")
    finally:
        await site.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = WebFetchSpec()
    parser.add_argument("--max-bytes", type=int, default=defaults.max_bytes)
    parser.add_argument("--timeout", type=float, default=defaults.timeout_s)
    args = parser.parse_args()
    run_async(main(args.max_bytes, args.timeout))
    asyncio.set_event_loop(None)
