"""What an upload is called and whether it is read at all (a tester's findings on the Knowledge page):
a decomposed name is the same file as its composed twin, a long name keeps its extension, an empty file
is refused, a path is never taken."""

from __future__ import annotations

import unicodedata

import pytest

from agent.memory.uploads import DOCUMENT_UPLOADS, refusal, safe_filename


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (unicodedata.normalize("NFD", "anotações_São_João.md"), "anotações_São_João.md"),
        ("a" * 300 + ".md", "a" * 97 + ".md"),
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\evil.md", "evil.md"),
        (".hidden.md", "hidden.md"),
        ("東京メモ.txt", "東京メモ.txt"),
    ],
)
def test_stored_names(sent: str, stored: str) -> None:
    assert safe_filename(sent) == stored


def test_an_empty_or_oversized_file_is_refused_before_it_is_read() -> None:
    assert refusal("empty.md", 0, DOCUMENT_UPLOADS) == "empty.md is empty; nothing was added."
    assert refusal("big.md", 8 * 1024 * 1024 + 1, DOCUMENT_UPLOADS) == "big.md is 8,388,609 bytes, over the 8 MB limit."
    long_name = safe_filename("a" * 300 + ".md")
    assert refusal(long_name, 10, DOCUMENT_UPLOADS) is None, "a long name's extension survives"
