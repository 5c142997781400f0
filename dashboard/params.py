"""Numbers from a query string or a path, read one way: ASCII digits only (`str.isdigit()` also takes
"²" and "٣", which `int()` refuses or reads as another number), checked against a range. A bad query
value is a 400 naming the parameter and what it takes (not a 500, not silently ignored); a bad path id
is the same 404 as an unknown one."""

from __future__ import annotations

from aiohttp import web

MAX_ID = (1 << 63) - 1  # past any snowflake, and the database's integers
ID_WORDS = "a Discord id (digits 0-9, at most 19 of them)"


def ascii_int(text: str, low: int, high: int) -> int | None:
    """`text` as an integer in [low, high], or None when it is not only ASCII digits or out of range."""
    if not text or len(text) > len(str(high)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


class BadParameter(web.HTTPBadRequest):
    """A query parameter's value the page cannot take: said in the answer, as plain text."""

    def __init__(self, name: str, accepts: str, value: str) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        super().__init__(text=f"Bad value for '{name}': {shown!r}. It takes {accepts}; leave it out for the default.\n")


def query_int(request: web.Request, name: str, low: int, high: int, accepts: str) -> int | None:
    """The query parameter `name` as an integer in [low, high]; None when absent or empty; BadParameter
    (400) when it is anything else."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    value = ascii_int(raw, low, high)
    if value is None:
        raise BadParameter(name, accepts, raw)
    return value


def query_id(request: web.Request, name: str) -> int | None:
    """A Discord id from the query string (channel, guild): see `query_int`."""
    return query_int(request, name, 0, MAX_ID, ID_WORDS)


def path_id(request: web.Request, name: str) -> int | None:
    """An id from the path, or None (the caller's 404) when it is no id."""
    return ascii_int(request.match_info.get(name, ""), 0, MAX_ID)
