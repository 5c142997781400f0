"""A fetched page's title and main text, in a child process with its own memory and CPU limits: a page
built to make the extractor work for minutes or take gigabytes (2 MB of nested links once took 4.6 s and
250 MB in the bot, 10 MB took 88 s and 2.4 GB) costs the child, never the bot.

argv: url, content type, charset ("" for none), cut ("1" or "0"), memory limit in MB, CPU seconds.
stdin: the body. stdout: JSON {"title", "text"}; nothing when a limit killed it."""

from __future__ import annotations

import json
import resource
import sys


def main() -> None:
    url, content_type, charset, cut, memory_mb, cpu_s = sys.argv[1:7]
    memory = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s) + 1))
    from agent.tools.web.fetch import Page, page_text

    body = sys.stdin.buffer.read()
    title, text = page_text(Page(url, content_type, charset or None, body, cut == "1"))
    sys.stdout.write(json.dumps({"title": title, "text": text}))


if __name__ == "__main__":
    main()
