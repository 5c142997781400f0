"""An OpenAI-compatible fine-tuning API (OpenAI's, and any provider that speaks it), through the `openai`
client: files upload (purpose fine-tune), `fine_tuning/jobs` create, list, retrieve, events, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.models.config import ModelSpec
from agent.redact import redact

OBSERVER_JOB = "observer_job"  # the metadata key naming our job id on the provider's job


class RemoteError(Exception):
    """The provider refused a call; the message is the provider's own (a file error names its line)."""


@dataclass(frozen=True)
class RemoteStatus:
    """The provider's view of a job. `state`: queued | running | succeeded | failed | cancelled (OpenAI's
    validating_files counts as queued)."""

    job_id: str
    state: str
    fine_tuned_model: str | None
    trained_tokens: int | None
    error: str | None


def _message(exc: Exception) -> str:
    """The provider's words, every credential redacted: some proxies echo the Authorization header."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return redact(str(inner["message"]))
    return redact(str(exc))


def _status(job: Any) -> RemoteStatus:
    state = {"validating_files": "queued"}.get(job.status, job.status)
    error = redact(job.error.message) if job.error is not None and getattr(job.error, "message", None) else None
    return RemoteStatus(job.id, state, job.fine_tuned_model, job.trained_tokens, error)


class RemoteTrainer:
    """One base model's provider (the endpoint and key of its model-list entry)."""

    def __init__(self, spec: ModelSpec) -> None:
        from openai import AsyncOpenAI

        self.spec = spec
        self.client = AsyncOpenAI(base_url=spec.base_url, api_key=spec.api_key(), max_retries=2, timeout=120)

    async def close(self) -> None:
        await self.client.close()

    async def upload(self, data: bytes, filename: str) -> str:
        """Upload a training file (JSONL bytes); returns its file id. RemoteError with the provider's words."""
        from openai import APIError

        try:
            return (await self.client.files.create(file=(filename, data), purpose="fine-tune")).id
        except APIError as exc:
            raise RemoteError(_message(exc)) from None

    async def find(self, observer_job_id: int) -> RemoteStatus | None:
        """The provider's job made for ours (found by its metadata): a job created just before a crash."""
        from openai import APIError

        try:
            page = await self.client.fine_tuning.jobs.list(metadata={OBSERVER_JOB: str(observer_job_id)}, limit=10)
        except APIError:
            return None
        for job in page.data:
            if (job.metadata or {}).get(OBSERVER_JOB) == str(observer_job_id):
                return _status(job)
        return None

    async def create(
        self, *, file_id: str, method: str, epochs: int, suffix: str, observer_job_id: int
    ) -> RemoteStatus:
        """Start the provider's job: `method` sft (OpenAI's supervised) or dpo."""
        from openai import APIError

        kind = "supervised" if method == "sft" else "dpo"
        body: dict[str, Any] = {"type": kind, kind: {"hyperparameters": {"n_epochs": epochs}}}
        try:
            job = await self.client.fine_tuning.jobs.create(
                model=self.spec.model,
                training_file=file_id,
                method=body,  # type: ignore[arg-type]
                suffix=suffix[:18],
                metadata={OBSERVER_JOB: str(observer_job_id)},
            )
        except APIError as exc:
            raise RemoteError(_message(exc)) from None
        return _status(job)

    async def retrieve(self, job_id: str) -> RemoteStatus:
        from openai import APIError

        try:
            return _status(await self.client.fine_tuning.jobs.retrieve(job_id))
        except APIError as exc:
            raise RemoteError(_message(exc)) from None

    async def progress(self, job_id: str, epochs: int) -> dict[str, Any] | None:
        """The newest metrics event as {"step", "steps", "epoch", "loss"}; None before the first step."""
        from openai import APIError

        try:
            page = await self.client.fine_tuning.jobs.list_events(job_id, limit=20)
        except APIError:
            return None
        for event in page.data:  # newest first
            data = event.data if isinstance(event.data, dict) else None
            if event.type == "metrics" and data and "step" in data:
                steps = int(data.get("total_steps") or 0)
                step = int(data["step"])
                epoch = round(step / steps * epochs, 2) if steps else 0.0
                return {"step": step, "steps": steps, "epoch": epoch, "loss": data.get("train_loss")}
        return None

    async def cancel(self, job_id: str) -> None:
        from openai import APIError

        try:
            await self.client.fine_tuning.jobs.cancel(job_id)
        except APIError as exc:
            raise RemoteError(_message(exc)) from None
