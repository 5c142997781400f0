"""Markdown (and text) with YAML `---` or TOML `+++` front matter."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from agent.memory.file_limits import fail, too_deep


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any] | None, str]:
    """YAML (`---`) or TOML (`+++`) front matter, and the body. None when the file has none."""
    text = text.lstrip("\ufeff")
    for fence, parse in (("---", yaml.safe_load), ("+++", tomllib.loads)):
        if text.startswith(fence + "\n") or text.startswith(fence + "\r\n"):
            end = re.search(rf"^{re.escape(fence)}\s*$", text[len(fence) + 1 :], flags=re.MULTILINE)
            if end is None:
                raise fail(path, "front matter", f"opened with {fence} but never closed")
            head = text[len(fence) + 1 : len(fence) + 1 + end.start()]
            body = text[len(fence) + 1 + end.end() :]
            try:
                data = parse(head) or {}
            except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
                raise fail(path, "front matter", str(exc).splitlines()[0]) from None
            except RecursionError:
                raise fail(path, "front matter", too_deep()) from None
            if not isinstance(data, dict):
                raise fail(path, "front matter", "must be a mapping of fields")
            return data, body.strip()
    return None, text


# ----- SillyTavern character cards -----
