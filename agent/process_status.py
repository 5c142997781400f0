"""`observer status` and `/health`: every process sharing the database, what it holds, and who is alive."""

from __future__ import annotations

from agent.memory.processes import Me, ProcessRow, is_alive


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _shards(row: ProcessRow) -> str:
    if row.layout == "all" and row.shard_count is None:
        held = ", ".join(str(s) for s in row.shards)
        return f"every shard ({held or 'none connected yet'})"
    return f"shards [{', '.join(str(s) for s in row.shards)}] of {row.shard_count}"


def process_lines(now: float, rows: list[ProcessRow], me: Me, lease_seconds: float) -> list[str]:
    """One line per process (oldest first), then which shards of the automatic layout nobody holds."""
    if not rows:
        return ["no process is running (none has beaten in this database)"]
    lines = []
    for row in rows:
        alive = is_alive(row, me, now, lease_seconds)
        mark = "this process" if row.id == me.id else "alive" if alive else "stopped"
        lines.append(
            f"{row.id[:8]}  {row.host}:{row.pid}  {row.layout:5}  {_shards(row)}  "
            f"up since {_ago(now - row.started_at)}, seen {_ago(now - row.seen_at)}  [{mark}]"
        )
    counts = {r.shard_count for r in rows if r.shard_count and is_alive(r, me, now, lease_seconds)}
    live_rows = [r for r in rows if is_alive(r, me, now, lease_seconds)]
    for count in sorted(counts):
        held = {s for r in live_rows if r.shard_count == count for s in r.shards}
        if missing := [s for s in range(count) if s not in held]:
            lines.append(f"shards of {count} held by no live process: {missing} (their servers get no answers)")
    return lines
