"""Starting fine-tuning jobs and driving them to the end.

`start_job` builds the dataset, stores the job and (remote) uploads its file at once, so a refused file
is the operator's answer. `TrainingRunner.pass_once` advances every active job one look: a remote job is
created on the provider (found again by its metadata after a crash between create and store), polled,
its newest metrics stored as progress; a local job runs as a separate process
(`python -m agent.training.local_lora --job-dir DIR`, niced, bounded threads, its own session so it
outlives a restart of the bot), watched through DIR/progress.jsonl and DIR/result.json, started again
after a crash (it resumes from DIR/checkpoint/ when there is one, and the job's note says which). A
succeeded job registers its model in the model list; `register_trained` adds every such model again
at start (and at each pass, so every process sharing the record learns of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.memory.record import Record
from agent.models.bundled import DEFAULT
from agent.models.config import ModelSpec
from agent.models.registry import ModelRegistry
from agent.training.dataset import METHODS, BuiltDataset, build_dataset
from agent.training.jobs import Job, JobStore
from agent.training.remote import RemoteError, RemoteTrainer

log = logging.getLogger(__name__)

DEFAULT_EPOCHS = 3


class TrainingError(Exception):
    """A job that cannot start; the message is for the operator (what to change)."""


def job_dir(data_dir: Path, job_id: int) -> Path:
    return data_dir / "training" / f"job-{job_id}"


def tuned_name(base: str, job_id: int) -> str:
    """The model list's name of a job's result: `<base>-ft<id>` (within the list's 64 characters)."""
    return f"{base[:50]}-ft{job_id}"


def tuned_spec(job: Job, base: ModelSpec) -> ModelSpec | None:
    """The model-list entry of a succeeded job: a remote job's is the base's endpoint and prices with the
    provider's model id; a local job's is the base model with the LoRA adapter the trainer wrote. None
    for a job without a result, or a local one whose adapter file is gone."""
    if not job.model_name or not job.result_model:
        return None
    about = f"{job.base} fine-tuned ({job.method}, {job.train_examples} examples, job {job.id})"
    # Trained on one server's data: that server's model alone (a host's every-server job: everyone's).
    common = {"name": job.model_name, "fine_tunable": False, "about": about, "guild_id": job.guild_id}
    if job.provider == "local":
        if base.provider != "local" or not Path(job.result_model).is_file():
            return None
        return base.model_copy(update={**common, "lora_adapter": job.result_model})
    return base.model_copy(update={**common, "model": job.result_model})


async def register_trained(store: JobStore, registry: ModelRegistry) -> list[str]:
    """Add every trained model the record holds to the model list; returns the names added now."""
    added = []
    for job in await store.trained_models():
        base = registry.choice.spec(job.base)
        spec = tuned_spec(job, base) if base is not None else None
        if spec is not None and registry.add(spec):
            added.append(spec.name)
    return added


async def start_job(
    store: JobStore,
    registry: ModelRegistry,
    record: Record,
    *,
    data_dir: Path,
    bot_name: str,
    base: str,
    method: str = "sft",
    epochs: int = DEFAULT_EPOCHS,
    guild_id: int | None = None,
    user_id: int | None = None,
    keep_names: bool = False,
    threads: int = 2,
    source: str | None = None,
) -> Job:
    """Queue a job on `base` (a `fine_tunable` model of the list) with the server's dataset (`source`: only
    the examples uploaded from that file).

    TrainingError: unknown or not fine-tunable base, unknown method, nothing to train on, the provider
    refused the file (its words). LocalJobBusy (agent.training.jobs): a local job is already running."""
    spec = registry.choice.spec(base)
    if spec is None:
        raise TrainingError(f"no model called {base!r}; see /model list")
    if not spec.fine_tunable:
        tunable = ", ".join(m.name for m in registry.specs if m.fine_tunable) or "none"
        raise TrainingError(f"{base} is not marked fine_tunable in the model list (fine-tunable: {tunable})")
    if method not in METHODS:
        raise TrainingError(f"method must be sft or dpo, not {method!r}")
    built = await build_dataset(
        record,
        bot_name=bot_name,
        method=method,  # type: ignore[arg-type]
        guild_id=guild_id,
        keep_names=keep_names,
        source=source,
    )
    if not built.train:
        raise TrainingError(f"nothing to train on: {built.summary()}")
    train = BuiltDataset.jsonl(built.train).encode()
    job = await store.create(
        provider="local" if spec.provider == "local" else "remote",
        base=base,
        method=method,
        epochs=epochs,
        train_examples=len(built.train),
        test_examples=len(built.test),
        train_bytes=len(train),
        guild_id=guild_id,
        user_id=user_id,
    )
    folder = job_dir(data_dir, job.id)
    await asyncio.to_thread(_write_job_files, folder, train, BuiltDataset.jsonl(built.test).encode())
    if job.provider == "local":
        # The bundled model's key when the entry names none (`provider = "local"` alone), else its key or .gguf path.
        params = {"base": spec.model or DEFAULT.key, "method": method, "epochs": epochs, "threads": threads}
        await asyncio.to_thread((folder / "params.json").write_text, json.dumps(params), "utf-8")
        return job
    trainer = RemoteTrainer(spec)
    try:
        file_id = await trainer.upload(train, f"observer-job-{job.id}-train.jsonl")
    except RemoteError as exc:
        await store.finish(job.id, "failed", error=str(exc))
        raise TrainingError(f"the provider refused the training file: {exc}") from None
    finally:
        await trainer.close()
    await store.update(job.id, remote_file_id=file_id)
    return (await store.get(job.id)) or job


def _write_job_files(folder: Path, train: bytes, test: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.jsonl").write_bytes(train)
    (folder / "test.jsonl").write_bytes(test)


async def cancel_job(store: JobStore, registry: ModelRegistry, job: Job) -> bool:
    """Cancel an active job: the provider's job too, or the local trainer's process on this host. False
    when it had already ended."""
    if not job.active:
        return False
    if job.provider == "remote" and job.remote_job_id:
        spec = registry.choice.spec(job.base)
        if spec is not None:
            trainer = RemoteTrainer(spec)
            try:
                await trainer.cancel(job.remote_job_id)
            except RemoteError as exc:
                log.warning("training: the provider would not cancel job %s: %s", job.id, exc)
            finally:
                await trainer.close()
    if job.provider == "local" and job.worker_pid and job.worker_host == socket.gethostname():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.worker_pid, signal.SIGTERM)
    return await store.finish(job.id, "cancelled")


def _alive(pid: int, folder: Path) -> bool:
    """The trainer process for this folder still runs (a reused pid running something else does not count)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()
        if len(status) > 2 and status[2] == "Z":
            return False  # a zombie: exited, not yet reaped
        return str(folder) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # no /proc (macOS): trust the signal


def _last_progress(folder: Path) -> dict[str, Any] | None:
    path = folder / "progress.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict) and "step" in item:
                return {k: item.get(k) for k in ("step", "steps", "epoch", "loss")}
    return None


@dataclass
class RunnerOptions:
    poll_seconds: float = 15.0
    lease_seconds: float = 60.0
    # argv that runs the local trainer on a job folder (tests stand in a script of their own).
    local_command: tuple[str, ...] = (sys.executable, "-m", "agent.training.local_lora", "--job-dir")
    nice: int = 10


class TrainingRunner:
    """Advances every active job; one per process. `on_change(job)` is awaited after a job changed
    (state or progress): the Discord door edits its progress message there."""

    def __init__(
        self,
        store: JobStore,
        registry: ModelRegistry,
        data_dir: Path,
        holder: str,
        options: RunnerOptions | None = None,
        on_change: Callable[[Job], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.data_dir = data_dir
        self.holder = holder
        self.options = options or RunnerOptions()
        self.on_change = on_change
        self._children: dict[int, asyncio.subprocess.Process] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look now (a job was just started or cancelled) rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("training: a pass over the jobs failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.options.poll_seconds)

    async def pass_once(self) -> None:
        """One look at every active job this process may drive."""
        await register_trained(self.store, self.registry)
        for job in await self.store.active():
            if not await self.store.claim(job.id, self.holder, self.options.lease_seconds):
                continue
            try:
                if job.provider == "remote":
                    await self._advance_remote(job)
                else:
                    await self._advance_local(job)
            except Exception as exc:
                log.exception("training: job %s could not be advanced", job.id)
                await self.store.update(job.id, note=f"last look failed: {type(exc).__name__}")
            after = await self.store.get(job.id)
            if after is not None and self.on_change is not None and after != job:
                try:
                    await self.on_change(after)
                except Exception:
                    log.exception("training: showing job %s's progress failed", job.id)

    async def _advance_remote(self, job: Job) -> None:
        spec = self.registry.choice.spec(job.base)
        if spec is None:
            await self.store.finish(job.id, "failed", error=f"the base model {job.base} is no longer in the model list")
            return
        trainer = RemoteTrainer(spec)
        try:
            remote_id = job.remote_job_id
            if remote_id is None:
                found = await trainer.find(job.id)  # created before a crash, never stored
                if found is None:
                    if job.remote_file_id is None:
                        await self.store.finish(job.id, "failed", error="the training file was never uploaded")
                        return
                    try:
                        found = await trainer.create(
                            file_id=job.remote_file_id,
                            method=job.method,
                            epochs=job.epochs,
                            suffix=f"observer-{job.id}",
                            observer_job_id=job.id,
                        )
                    except RemoteError as exc:
                        await self.store.finish(job.id, "failed", error=str(exc))
                        return
                remote_id = found.job_id
                await self.store.update(job.id, remote_job_id=remote_id)
            status = await trainer.retrieve(remote_id)
            progress = await trainer.progress(remote_id, job.epochs)
            if progress is not None and progress != job.progress:
                await self.store.update(job.id, progress=progress)
            if status.state == "running" and job.state == "queued":
                await self.store.update(job.id, state="running")
            elif status.state == "succeeded":
                await self._succeed_remote(job, spec, status.fine_tuned_model, status.trained_tokens)
            elif status.state in ("failed", "cancelled"):
                await self.store.finish(job.id, status.state, error=status.error)  # type: ignore[arg-type]
        finally:
            await trainer.close()

    async def _succeed_remote(self, job: Job, base: ModelSpec, model: str | None, tokens: int | None) -> None:
        if not model:
            await self.store.finish(job.id, "failed", error="the provider reported success without a model")
            return
        cost = (tokens or 0) / 1000 * base.training_cost_per_1k
        name = tuned_name(job.base, job.id)
        progress = dict(job.progress)
        if progress.get("steps"):
            progress["step"] = progress["steps"]
            progress["epoch"] = job.epochs
        done = await self.store.finish(
            job.id,
            "succeeded",
            result_model=model,
            model_name=name,
            trained_tokens=tokens,
            cost_usd=cost,
            progress=progress,
        )
        if done:
            await register_trained(self.store, self.registry)
            log.info("training: job %s succeeded; model %s (%s) added to the model list", job.id, name, model)

    # ----- local jobs -----
    async def _advance_local(self, job: Job) -> None:
        folder = job_dir(self.data_dir, job.id)
        if not folder.is_dir():
            await self.store.finish(job.id, "failed", error=f"the job's folder is not on {socket.gethostname()}")
            return
        progress = _last_progress(folder)
        if progress is not None and progress != job.progress:
            await self.store.update(job.id, progress=progress)
        child = self._children.get(job.id)
        if child is not None and child.returncode is None:
            return  # still training
        if (
            child is None
            and job.worker_pid
            and job.worker_host == socket.gethostname()
            and _alive(job.worker_pid, folder)
        ):
            return  # started by an earlier run of this process (or one killed): still training
        exit_file = folder / "exit_code"
        if (folder / "result.json").exists():
            await self._succeed_local(job, folder)
        elif exit_file.exists() and exit_file.read_text().strip() not in ("", "0"):
            await self.store.finish(job.id, "failed", error=_stderr_line(folder))
        else:
            await self._spawn(job, folder)

    async def _spawn(self, job: Job, folder: Path) -> None:
        resumed = (folder / "checkpoint").is_dir()
        note = "" if job.worker_pid is None else ("resumed from checkpoint" if resumed else "restarted from the start")
        (folder / "exit_code").unlink(missing_ok=True)
        command = " ".join(shlex.quote(part) for part in (*self.options.local_command, str(folder)))
        stderr = shlex.quote(str(folder / "stderr.log"))
        exit_code = shlex.quote(str(folder / "exit_code"))
        script = f"nice -n {self.options.nice} {command} 2>>{stderr}; echo $? > {exit_code}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", script, stdout=asyncio.subprocess.DEVNULL, start_new_session=True, env=env
        )
        self._children[job.id] = proc
        await self.store.update(
            job.id, state="running", worker_pid=proc.pid, worker_host=socket.gethostname(), note=note or job.note
        )
        log.info("training: local job %s started (pid %s)%s", job.id, proc.pid, f", {note}" if note else "")

    async def _succeed_local(self, job: Job, folder: Path) -> None:
        try:
            result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            adapter = folder / str(result["adapter"])
            cpu = float(result.get("cpu_seconds") or 0.0)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            await self.store.finish(job.id, "failed", error=f"the trainer's result.json is unreadable ({exc})")
            return
        progress = _last_progress(folder) or dict(job.progress)
        await self.store.finish(
            job.id,
            "succeeded",
            result_model=str(adapter),
            model_name=tuned_name(job.base, job.id),
            cpu_seconds=cpu,
            progress=progress,
        )

    async def close(self) -> None:
        """Stop watching; local trainers go on (a restarted process picks them up)."""
        for proc in self._children.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(proc.wait()), 0)
        self._children.clear()


def _stderr_line(folder: Path) -> str:
    try:
        lines = [line for line in (folder / "stderr.log").read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    return lines[-1][:500] if lines else "the local trainer failed without a word"
