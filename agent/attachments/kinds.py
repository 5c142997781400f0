"""Which attachments are read as text, which as PDF, and which are only named (binary files)."""

from __future__ import annotations

from typing import Literal

from agent.events import Attachment

Kind = Literal["text", "pdf"]

# Files people paste or share as text whatever type the uploader sent (often application/octet-stream).
TEXT_SUFFIXES = frozenset(
    (
        ".txt .text .md .markdown .rst .adoc .org .tex .log .out .err .csv .tsv .json .jsonl .ndjson .yaml .yml "
        ".toml .ini .cfg .conf .env .properties .xml .html .htm .css .scss .svg .srt .vtt .sub .ass .diff .patch "
        ".py .pyi .ipynb .js .mjs .cjs .ts .tsx .jsx .vue .svelte .c .h .cc .cpp .cxx .hpp .hh .cs .java .kt .kts "
        ".scala .go .rs .rb .php .pl .pm .lua .r .jl .swift .m .mm .dart .ex .exs .erl .hs .ml .clj .el .lisp "
        ".sql .sh .bash .zsh .fish .ps1 .bat .cmd .dockerfile .gradle .cmake .mk .nix .proto .graphql .gql .tf "
        ".hcl .asm .s .v .sv .vhd .zig .nim .gd .glsl .hlsl .shader .lst .nfo .bib .po .pot .strings"
    ).split()
)
TEXT_NAMES = frozenset(("dockerfile", "makefile", "readme", "license", "changelog", "gemfile", "procfile"))
TEXT_TYPES = frozenset(
    (
        "application/json",
        "application/ld+json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/javascript",
        "application/x-javascript",
        "application/x-sh",
        "application/x-httpd-php",
        "application/sql",
        "application/x-subrip",
        "application/x-tex",
        "image/svg+xml",
    )
)


def media_type(attachment: Attachment) -> str:
    """`text/plain` from `text/plain; charset=utf-8`."""
    return (attachment.content_type or "").split(";")[0].strip().lower()


def declared_charset(attachment: Attachment) -> str | None:
    for param in (attachment.content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def kind_of(attachment: Attachment) -> Kind | None:
    """ "text", "pdf", or None for files that are only named (images, audio, archives, executables)."""
    if attachment.is_voice:
        return None
    mime = media_type(attachment)
    name = attachment.filename.lower()
    suffix = name[name.rfind(".") :] if "." in name else ""
    if mime == "application/pdf" or suffix == ".pdf":
        return "pdf"
    if mime.startswith(("audio/", "video/", "image/")) and mime != "image/svg+xml":
        return None
    if mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith(("+json", "+xml")):
        return "text"
    if suffix in TEXT_SUFFIXES or name in TEXT_NAMES:
        return "text"
    return None
