"""Who is alive (agent/memory/processes.py) and what `observer status` says about them."""

from __future__ import annotations

from agent.memory.processes import Me, ProcessRow, is_alive, this_place
from agent.process_status import process_lines

LEASE = 15.0
NOWHERE_PID = 2**22 + 11  # no process has it on this machine


def row(me: Me, id_: str, *, host: str, pid: int, seen: float = 100.0, shards=(0,), count=4, layout="auto"):
    return ProcessRow(id_, host, pid, 0.0, seen, layout, count, tuple(shards))


def test_a_process_is_dead_a_lease_after_its_last_beat():
    me = Me()
    other = row(me, "b", host="elsewhere", pid=1)
    assert is_alive(other, me, now=100.0 + LEASE, lease=LEASE)
    assert not is_alive(other, me, now=100.0 + LEASE + 0.1, lease=LEASE)


def test_on_this_machine_a_gone_pid_is_dead_at_once_and_so_is_this_pids_predecessor():
    me = Me()
    assert not is_alive(row(me, "b", host=me.host, pid=NOWHERE_PID), me, now=101.0, lease=LEASE)
    assert not is_alive(row(me, "old-me", host=me.host, pid=me.pid), me, now=101.0, lease=LEASE)


def test_another_pid_namespace_on_the_same_hostname_is_judged_by_its_beats_only():
    """Containers with the host's network share the hostname, and are all pid 1 in their own namespace."""
    me = Me()
    hostname = me.host.split("#")[0]
    container = row(me, "c", host=f"{hostname}#4026531999", pid=me.pid)
    assert this_place() == me.host != container.host
    assert is_alive(container, me, now=101.0, lease=LEASE)
    assert is_alive(row(me, "d", host=f"{hostname}#4026531999", pid=NOWHERE_PID), me, now=101.0, lease=LEASE)


def test_status_warns_of_disagreeing_counts_and_shards_held_twice_and_says_when_nothing_runs():
    me = Me(id="")
    rows = [
        row(me, "a1", host="h", pid=1, shards=(0, 1), count=4, layout="fixed"),
        row(me, "b2", host="h", pid=2, shards=(1, 2, 3), count=4),
        row(me, "c3", host="h", pid=3, shards=(4,), count=8),
    ]
    lines = process_lines(101.0, rows, me, LEASE)
    assert "processes disagree on OBSERVER_SHARD_COUNT ([4, 8])" in "\n".join(lines)
    assert "shards held by two live processes: [1]" in "\n".join(lines)
    stopped = process_lines(500.0, rows, me, LEASE)
    assert stopped[-1] == "no process is running: every server goes unanswered until one starts"
    assert all("[stopped]" in line for line in stopped[:-1])
