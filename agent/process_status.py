"""`observer status` and `/health`: every process sharing the database, what it holds, and who is alive."""

from __future__ import annotations

from agent.memory.processes import Me, ProcessRow, hostname_of, is_alive


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


def _held_twice(rows: list[ProcessRow]) -> list[int]:
    seen: set[int] = set()
    twice: set[int] = set()
    for row in rows:
        if row.layout == "all" and row.shard_count is None:
            continue  # connects whatever Discord recommends: not comparable
        for shard in row.shards:
            (twice if shard in seen else seen).add(shard)
    return sorted(twice)


def process_lines(now: float, rows: list[ProcessRow], me: Me, lease_seconds: float) -> list[str]:
    """One line per process (oldest first), then which shards of the automatic layout nobody holds."""
    if not rows:
        return ["no process is running (none has beaten in this database)"]
    lines = []
    for row in rows:
        alive = is_alive(row, me, now, lease_seconds)
        mark = "this process" if row.id == me.id else "alive" if alive else "stopped"
        lines.append(
            f"{row.id[:8]}  {hostname_of(row.host)}:{row.pid}  {row.layout:5}  {_shards(row)}  "
            f"up since {_ago(now - row.started_at)}, seen {_ago(now - row.seen_at)}  [{mark}]"
        )
    live_rows = [r for r in rows if is_alive(r, me, now, lease_seconds)]
    if not live_rows:
        lines.append("no process is running: every server goes unanswered until one starts")
        return lines
    counts = {r.shard_count for r in live_rows if r.shard_count}
    if len(counts) > 1:
        lines.append(f"processes disagree on OBSERVER_SHARD_COUNT ({sorted(counts)}): give every process the same")
    held_twice = _held_twice(live_rows)
    if held_twice:
        lines.append(f"shards held by two live processes: {held_twice} (a fixed layout overlaps another process)")
    for count in sorted(counts):
        held = {s for r in live_rows if r.shard_count == count for s in r.shards}
        if missing := [s for s in range(count) if s not in held]:
            lines.append(f"shards of {count} held by no live process: {missing} (their servers get no answers)")
    return lines
