"""What access lists, quotas and flood control cost (issue J): goal ≤ 0.5 ms p50 added to a handled
message, and skipped-message throughput within 5 % of the same graph without the checks.

1. The gate's own work for a message addressed to the bot (what ingest adds), with a busy server's
   policy: 100 blocked members, 50 listed channels, an allow-role list, three limits and five role
   overrides, and a ledger holding a day of usage for 2,000 members.
2. Skipped-message throughput through the whole reply graph (as `bench.skip_throughput`), rounds
   alternating between the configured gate and a pass-through one, so machine noise hits both alike.

    .venv/bin/python -m bench.access [N]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

from agent.access.gate import PASS, Admission, Gate
from agent.access.policy import AccessPolicy, FloodPolicy, QuotaPolicy
from agent.events import Event
from agent.loop import run_async
from agent.rights import MemberRights
from bench.harness import bench_services, summary
from bench.skip_throughput import CHANNELS, run_channel
from graphs.reply import build
from tests.conftest import make_event

MEMBERS = 2000


class NoGate(Gate):
    """The same graph without the checks: the baseline."""

    async def keeps_out_of_record(self, event: Event) -> bool:
        return False

    async def admit(self, event: Event, verdict: Any) -> Admission:
        return PASS


def busy_policies() -> tuple[AccessPolicy, QuotaPolicy]:
    access = AccessPolicy(
        allow_roles=[10, 11, 12],
        block_users=list(range(900_000, 900_100)),
        block_channels=list(range(5000, 5050)),
        admin_roles=[13],
    )
    quotas = QuotaPolicy.model_validate(
        {
            "replies_per_hour": 1000,
            "tokens_per_day": 10_000_000,
            "usd_per_day": 100.0,
            "role": [{"role": r, "replies_per_hour": 5000} for r in range(10, 15)],
        }
    )
    return access, quotas


def seeded_gate(settings: Any) -> Gate:
    access, quotas = busy_policies()
    gate = Gate(access, quotas, FloodPolicy(), settings)
    now = time.time()
    for i in range(MEMBERS * 10):  # ten calls a member over the last day
        user = i % MEMBERS
        gate.ledger.note(
            {
                "guild_id": 1,
                "user_id": user,
                "message_id": i,
                "purpose": "reply",
                "ok": True,
                "tokens_in": 300,
                "tokens_out": 80,
                "cost_usd": 0.0004,
            },
            when=now - 86000 + i * 4,
        )
    return gate


async def gate_cost(settings: Any, n: int) -> list[float]:
    gate = seeded_gate(settings)
    events = [
        make_event(
            f"@Observer question {i} 質問",
            author=f"m{i}",
            guild_id=1,
            author_id=i % MEMBERS,
            rights=MemberRights(role_ids=[10], channel_parents=[77], places_known=True),
            mentions_bot=True,
        )
        for i in range(n)
    ]
    timings = []
    for event in events:
        started = time.perf_counter()
        if not await gate.keeps_out_of_record(event):
            admission = await gate.admit(event, "respond")
            assert not admission.skip, admission.reason
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def main(n: int) -> None:
    async with bench_services() as (svc, _):
        costs = await gate_cost(svc.record, 5000)
        print(summary("gate per addressed message (access + flood + quotas)", costs[500:]))

        access, quotas = busy_policies()
        gates = {
            "with checks": Gate(access, quotas, FloodPolicy(), svc.record),
            "without": NoGate(access, quotas, FloodPolicy(), svc.record),
        }
        rates: dict[str, list[float]] = {name: [] for name in gates}
        cpu: dict[str, list[float]] = {name: [] for name in gates}
        for round_no in range(10):
            for name, gate in gates.items() if round_no % 2 == 0 else reversed(gates.items()):
                svc.gate = gate
                graph = build(svc)
                events = [
                    make_event(f"r{round_no} chatter {i} 雑談", author=f"member{i % 50}", channel=f"chan{i % CHANNELS}")
                    for i in range(n)
                ]
                per_channel = [events[c::CHANNELS] for c in range(CHANNELS)]
                started, cpu_started = time.perf_counter(), time.process_time()
                await asyncio.gather(*(run_channel(graph, chunk) for chunk in per_channel))
                rates[name].append(n / (time.perf_counter() - started))
                cpu[name].append((time.process_time() - cpu_started) / n * 1e6)
        for name, values in rates.items():
            print(
                f"skipped messages/s, {name}: median {statistics.median(values):.0f} ({', '.join(f'{v:.0f}' for v in values)})"
            )
        ratio = statistics.median(rates["with checks"]) / statistics.median(rates["without"])
        print(f"throughput with checks / without: {ratio:.3f}")
        for name, values in cpu.items():
            print(f"CPU per skipped message, {name}: median {statistics.median(values):.0f} us")


if __name__ == "__main__":
    run_async(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1500))
