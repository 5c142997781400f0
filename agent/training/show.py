"""Jobs as people read them: a progress bar with steps, epoch and loss; one line per job; the status."""

from __future__ import annotations

from agent.training.jobs import Job

BAR = 20


def bar(job: Job) -> str:
    """`[██████░░░░░░░░░░░░░░] 6/20 steps · epoch 0.9/3 · loss 0.412`; before the first step, the state."""
    p = job.progress
    steps, step = int(p.get("steps") or 0), int(p.get("step") or 0)
    if not steps:
        return "[" + "░" * BAR + "] " + ("waiting to start" if job.state == "queued" else "starting")
    filled = BAR * min(step, steps) // steps
    parts = [f"[{'█' * filled}{'░' * (BAR - filled)}] {step}/{steps} steps"]
    if p.get("epoch") is not None:
        parts.append(f"epoch {float(p['epoch']):g}/{job.epochs}")
    if p.get("loss") is not None:
        parts.append(f"loss {float(p['loss']):.3f}")
    return " · ".join(parts)


def cost(job: Job) -> str:
    if job.provider == "local":
        return f"{job.cpu_seconds:,.0f} CPU seconds" if job.cpu_seconds is not None else "CPU time not known yet"
    if job.cost_usd is not None:
        tokens = f" ({job.trained_tokens:,} tokens)" if job.trained_tokens is not None else ""
        return f"${job.cost_usd:.4f}{tokens}"
    return "cost not known yet"


def line(job: Job) -> str:
    """One line for `list`: id, state, base → model, method, when."""
    model = f" → {job.model_name}" if job.model_name else ""
    when = f"{job.created_at:%Y-%m-%d %H:%M} UTC"
    return f"#{job.id} {job.state} · {job.base}{model} · {job.method} · {job.provider} · {when}"


def status(job: Job) -> str:
    """Several lines for `status` and the Discord progress message."""
    lines = [f"**Training job #{job.id}** — {job.state}", bar(job)]
    lines.append(
        f"base {job.base} · {job.method} · {job.provider} · {job.train_examples} train / {job.test_examples} test "
        f"examples ({job.train_bytes:,} bytes) · {job.epochs} epochs"
    )
    if job.state == "succeeded" and job.model_name:
        lines.append(f"model **{job.model_name}** is in the model list (/model set name:{job.model_name})")
    if job.state in ("succeeded", "failed", "cancelled") or job.cpu_seconds is not None or job.cost_usd is not None:
        lines.append(f"cost: {cost(job)}")
    if job.error:
        lines.append(f"error: {job.error}")
    if job.note:
        lines.append(f"note: {job.note}")
    return "\n".join(lines)
