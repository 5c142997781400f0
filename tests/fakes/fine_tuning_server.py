"""A fake of OpenAI's fine-tuning API on loopback, as strict as the real one where a client can go wrong.

Files (`POST /v1/files`, multipart): `purpose` must be one OpenAI knows; a fine-tune file must be named
`.jsonl` and every line a JSON object, refused at upload with OpenAI's words
("Expected file to have JSONL format, where every line is a JSON dictionary. Line 2 is not a
dictionary …").

Jobs (`/v1/fine_tuning/jobs`: create, list with `metadata[…]` filters, retrieve, events, cancel): the
model must be one of `tunable`; the training file must exist and have purpose fine-tune. A job starts in
`validating_files`, where its file's examples are checked line by line for the job's method
(supervised: `messages` ending with an assistant message; dpo: `input.messages`, `preferred_output`,
`non_preferred_output`) and counted (at least `min_examples`, 10 as OpenAI); a bad file fails the job
with `invalid_training_file` and a message naming the example. Then `queued`, `running` (one step per
tick, a `metrics` event each with `step`, `total_steps`, `train_loss`), `succeeded` with
`fine_tuned_model` `ft:<model>:observer:<suffix>:<id>` and `trained_tokens`; or `failed` (`fail_at`), or
`cancelled`.

Time is the test's: a job advances one state or step per `tick()`, and with `auto` (the default) each
`GET` of the job ticks it once. `hold = True` freezes every job where it is (a bot killed mid-job).
Mount it on a `FakeOpenAI` (`FakeFineTuning().mount(fake_openai)`, before `start`) so the tuned model is
answered by the same server, or `start()` it alone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
TERMINAL = ("succeeded", "failed", "cancelled")


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return web.json_response(body, status=status)


@dataclass
class FakeJob:
    id: str
    model: str
    training_file: str
    method: dict[str, Any]
    suffix: str | None
    metadata: dict[str, str] | None
    created_at: int
    status: str = "validating_files"
    step: int = 0
    total_steps: int = 0
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: dict[str, Any] | None = None
    finished_at: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0

    def as_json(self) -> dict[str, Any]:
        epochs = ((self.method.get(self.method.get("type", "supervised")) or {}).get("hyperparameters") or {}).get(
            "n_epochs", "auto"
        )
        return {
            "id": self.id,
            "object": "fine_tuning.job",
            "created_at": self.created_at,
            "error": self.error,
            "fine_tuned_model": self.fine_tuned_model,
            "finished_at": self.finished_at,
            "hyperparameters": {"n_epochs": epochs, "batch_size": 1, "learning_rate_multiplier": 1.0},
            "model": self.model,
            "organization_id": "org-fake",
            "result_files": [],
            "seed": 42,
            "status": self.status,
            "trained_tokens": self.trained_tokens,
            "training_file": self.training_file,
            "validation_file": None,
            "estimated_finish": None,
            "integrations": [],
            "metadata": self.metadata,
            "method": self.method,
        }


class FakeFineTuning:
    def __init__(self, *, tunable: tuple[str, ...] = ("fake-chat",), min_examples: int = 10) -> None:
        self.tunable = set(tunable)
        self.min_examples = min_examples
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.auto = True
        self.hold = False
        self.fail_at: int | None = None  # a running job fails at this step (a provider's fault)
        self.steps_per_epoch: int | None = None  # default: one step per example
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._counter = 0

    # ----- serving -----
    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}", self._file)
        app.router.add_post("/v1/fine_tuning/jobs", self._create)
        app.router.add_get("/v1/fine_tuning/jobs", self._list)
        app.router.add_get("/v1/fine_tuning/jobs/{id}", self._retrieve)
        app.router.add_get("/v1/fine_tuning/jobs/{id}/events", self._events)
        app.router.add_post("/v1/fine_tuning/jobs/{id}/cancel", self._cancel)

    def mount(self, fake_openai: Any) -> FakeFineTuning:
        """Serve from a FakeOpenAI (before its `start`): the tuned models answer on the same server."""
        fake_openai.mounts.append(self.install)
        return self

    async def start(self) -> str:
        app = web.Application()
        self.install(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter:06d}abc"

    # ----- what the test drives -----
    def tick(self, job_id: str | None = None) -> None:
        """Advance one job (or every job) by one state or step."""
        for job in [self.jobs[job_id]] if job_id else list(self.jobs.values()):
            if not self.hold:
                self._advance(job)

    def finish(self, job_id: str) -> None:
        """Tick until the job ends."""
        held, self.hold = self.hold, False
        try:
            while self.jobs[job_id].status not in TERMINAL:
                self._advance(self.jobs[job_id])
        finally:
            self.hold = held

    def _event(self, job: FakeJob, message: str, kind: str = "message", data: Any = None, level: str = "info") -> None:
        job.events.append(
            {
                "id": self._new_id("ftevent"),
                "object": "fine_tuning.job.event",
                "created_at": int(time.time()),
                "level": level,
                "message": message,
                "type": kind,
                "data": data,
            }
        )

    def _advance(self, job: FakeJob) -> None:
        if job.status == "validating_files":
            problem, examples, tokens = self._validate(job)
            if problem is not None:
                job.status, job.finished_at = "failed", int(time.time())
                job.error = {"code": "invalid_training_file", "param": "training_file", "message": problem}
                self._event(job, problem, level="error")
                return
            epochs = self._epochs(job, examples)
            job.total_steps = (self.steps_per_epoch or examples) * epochs
            job.tokens = tokens * epochs
            job.status = "queued"
            self._event(job, "Validated training file")
        elif job.status == "queued":
            job.status = "running"
            self._event(job, "Fine-tuning job started")
        elif job.status == "running":
            job.step += 1
            if self.fail_at is not None and job.step >= self.fail_at:
                job.status, job.finished_at = "failed", int(time.time())
                job.error = {
                    "code": "server_error",
                    "param": None,
                    "message": "The job failed due to an internal error.",
                }
                self._event(job, job.error["message"], level="error")
                return
            loss = round(2.0 / job.step, 4)
            data = {
                "step": job.step,
                "total_steps": job.total_steps,
                "train_loss": loss,
                "train_mean_token_accuracy": 0.5,
            }
            self._event(job, f"Step {job.step}/{job.total_steps}: training loss={loss}", "metrics", data)
            if job.step >= job.total_steps:
                job.status, job.finished_at = "succeeded", int(time.time())
                job.trained_tokens = job.tokens
                job.fine_tuned_model = f"ft:{job.model}:observer:{job.suffix or 'tuned'}:{job.id[-9:]}"
                self._event(job, "The job has successfully completed")

    def _epochs(self, job: FakeJob, examples: int) -> int:
        kind = job.method.get("type", "supervised")
        n = ((job.method.get(kind) or {}).get("hyperparameters") or {}).get("n_epochs", "auto")
        return n if isinstance(n, int) else 3

    def _validate(self, job: FakeJob) -> tuple[str | None, int, int]:
        """(problem, examples, tokens): OpenAI's checks of a training file for the job's method."""
        kind = job.method.get("type", "supervised")
        lines = [line for line in self.contents[job.training_file].decode("utf-8").splitlines() if line.strip()]
        head = "The job failed due to an invalid training file. "
        tokens = 0
        for n, line in enumerate(lines, 1):
            item = json.loads(line)
            tokens += len(line) // 4
            if kind == "dpo":
                if "input" not in item or "preferred_output" not in item or "non_preferred_output" not in item:
                    return (
                        f"{head}Invalid file format. Example {n}: missing input, preferred_output or non_preferred_output",
                        0,
                        0,
                    )
                messages = item["input"].get("messages")
                outputs = (item["preferred_output"], item["non_preferred_output"])
                if not isinstance(messages, list) or not messages:
                    return f"{head}Invalid file format. Example {n}: input.messages must be a non-empty list", 0, 0
                if any(not isinstance(o, list) or len(o) != 1 or o[0].get("role") != "assistant" for o in outputs):
                    return f"{head}Invalid file format. Example {n}: outputs must each be one assistant message", 0, 0
                continue
            messages = item.get("messages")
            if not isinstance(messages, list):
                return f'{head}Invalid file format. Example {n} is missing key "messages".', 0, 0
            for m, message in enumerate(messages, 1):
                role = message.get("role") if isinstance(message, dict) else None
                if role not in ("system", "user", "assistant", "tool"):
                    return f"{head}Invalid file format. Example {n}, message {m}: Unrecognized role: {role!r}", 0, 0
                if not isinstance(message.get("content"), str):
                    return f"{head}Invalid file format. Example {n}, message {m}: content must be a string", 0, 0
            if not any(m.get("role") == "assistant" for m in messages):
                return f"{head}Invalid file format. Example {n}: no assistant messages", 0, 0
        if len(lines) < self.min_examples:
            return (
                f"{head}Training file has {len(lines)} example(s), but must have at least {self.min_examples} examples",
                0,
                0,
            )
        return None, len(lines), tokens

    # ----- endpoints -----
    async def _upload(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", "/files"))
        form = await request.post()
        purpose = form.get("purpose")
        upload = form.get("file")
        if upload is None or not hasattr(upload, "file"):
            return _error(400, "Missing file", "file")
        if purpose not in PURPOSES:
            listed = ", ".join(f"'{p}'" for p in PURPOSES)
            return _error(400, f"'{purpose}' is not one of [{listed}] - 'purpose'", "purpose")
        data = upload.file.read()
        name = str(upload.filename)
        if purpose == "fine-tune":
            if not name.endswith(".jsonl"):
                return _error(400, "Invalid file format for Fine-Tuning API. Must be .jsonl", "file")
            for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    ok = isinstance(json.loads(line), dict)
                except json.JSONDecodeError:
                    ok = False
                if not ok:
                    hint = json.dumps(line[:3] + "...")
                    return _error(
                        400,
                        "Expected file to have JSONL format, where every line is a JSON dictionary. "
                        f"Line {n} is not a dictionary (HINT: line starts with: {hint}).",
                    )
        file_id = self._new_id("file")
        self.contents[file_id] = data
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }
        return web.json_response(self.files[file_id])

    async def _file(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["id"])
        return web.json_response(found) if found else _error(404, f"No such File object: {request.match_info['id']}")

    async def _create(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", "/fine_tuning/jobs"))
        body = await request.json()
        model = body.get("model")
        if model not in self.tunable:
            return _error(
                400,
                f"Model {model} is not available for fine-tuning or does not exist.",
                "model",
                "model_not_available",
            )
        file_id = body.get("training_file")
        found = self.files.get(file_id or "")
        if found is None:
            return _error(400, f"invalid training_file: {file_id}", "training_file")
        if found["purpose"] != "fine-tune":
            return _error(400, f"File {file_id} does not have purpose 'fine-tune'.", "training_file")
        method = body.get("method") or {"type": "supervised"}
        if method.get("type") not in ("supervised", "dpo", "reinforcement"):
            return _error(400, f"Invalid method type: {method.get('type')}", "method")
        job = FakeJob(
            id=self._new_id("ftjob"),
            model=model,
            training_file=file_id,
            method=method,
            suffix=body.get("suffix"),
            metadata=body.get("metadata"),
            created_at=int(time.time()),
        )
        self.jobs[job.id] = job
        self._event(job, f"Created fine-tuning job: {job.id}")
        return web.json_response(job.as_json())

    async def _list(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", "/fine_tuning/jobs"))
        wanted = {k[len("metadata[") : -1]: v for k, v in request.query.items() if k.startswith("metadata[")}
        jobs = [
            j.as_json()
            for j in reversed(self.jobs.values())
            if all((j.metadata or {}).get(k) == v for k, v in wanted.items())
        ]
        return web.json_response({"object": "list", "data": jobs, "has_more": False})

    def _job(self, request: web.Request) -> FakeJob | None:
        return self.jobs.get(request.match_info["id"])

    async def _retrieve(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", "/fine_tuning/jobs/{id}"))
        job = self._job(request)
        if job is None:
            return _error(404, f"Could not find fine-tune: {request.match_info['id']}", None, "fine_tune_not_found")
        if self.auto and not self.hold:
            self._advance(job)
        return web.json_response(job.as_json())

    async def _events(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", "/fine_tuning/jobs/{id}/events"))
        job = self._job(request)
        if job is None:
            return _error(404, f"Could not find fine-tune: {request.match_info['id']}", None, "fine_tune_not_found")
        limit = int(request.query.get("limit", "20"))
        newest_first = list(reversed(job.events))
        return web.json_response(
            {"object": "list", "data": newest_first[:limit], "has_more": len(newest_first) > limit}
        )

    async def _cancel(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", "/fine_tuning/jobs/{id}/cancel"))
        job = self._job(request)
        if job is None:
            return _error(404, f"Could not find fine-tune: {request.match_info['id']}", None, "fine_tune_not_found")
        if job.status in TERMINAL:
            return _error(400, f"Cannot cancel a job that has already {job.status}.", None, "invalid_state")
        job.status, job.finished_at = "cancelled", int(time.time())
        self._event(job, "Fine-tuning job cancelled")
        return web.json_response(job.as_json())
