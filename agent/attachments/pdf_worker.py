"""A PDF's text, in a child process with its own memory and CPU limits (a decompression bomb in a
content stream, or a page that takes minutes to parse, costs the child, never the bot).

stdin: the PDF's bytes; argv: max pages, max characters, memory limit in MB, CPU seconds.
stdout: JSON {"text", "pages_read", "pages", "cut"} or {"error"}."""

from __future__ import annotations

import io
import json
import logging
import resource
import sys


def _limit(memory_mb: int, cpu_s: int) -> None:
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))


def extract(data: bytes, max_pages: int, max_chars: int) -> dict[str, object]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # malformed files warn per object; the door logs once
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")  # many "protected" PDFs open with the empty password
        except Exception:
            return {"error": "the PDF is password-protected"}
    pages = len(reader.pages)
    parts: list[str] = []
    size = 0
    read = 0
    cut = False
    for page in reader.pages[:max_pages]:
        text = (page.extract_text() or "").strip()
        read += 1
        if text:
            parts.append(text)
            size += len(text) + 2
        if size > max_chars:
            cut = True
            break
    text = "\n\n".join(parts)
    cut = cut or len(text) > max_chars or read < pages
    return {"text": text[:max_chars], "pages_read": read, "pages": pages, "cut": cut}


def main() -> None:
    max_pages, max_chars, memory_mb, cpu_s = (int(a) for a in sys.argv[1:5])
    data = sys.stdin.buffer.read()
    import pypdf  # noqa: F401  (imported before the limit: the library itself is not the patient)

    _limit(memory_mb, cpu_s)
    try:
        result = extract(data, max_pages, max_chars)
    except MemoryError:
        result = {"error": "the PDF needs more memory than allowed to read"}
    except Exception as exc:  # a malformed file: one line for the member's note, never a traceback
        result = {"error": f"the PDF could not be read ({type(exc).__name__})"}
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
