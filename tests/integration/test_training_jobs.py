"""Fine-tuning jobs (issue T): the record's state machine, the remote path against a fake of OpenAI's
fine-tuning API, the local path against a stand-in trainer keeping the agreed contract."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.services import Services
from agent.training.dataset import add_examples, pair
from agent.training.jobs import JobStore, LocalJobBusy
from agent.training.remote import RemoteError, RemoteTrainer
from agent.training.runner import RunnerOptions, TrainingError, TrainingRunner, job_dir, start_job
from tests.conftest import make_services, models_toml
from tests.fakes.fine_tuning_server import FakeFineTuning
from tests.fakes.openai_server import FakeOpenAI

STAND_IN = (sys.executable, str(Path(__file__).resolve().parents[1] / "fakes" / "local_trainer.py"), "--job-dir")


def tunable_toml(base_url: str, *, local: bool = False) -> str:
    toml = models_toml(base_url) + "fine_tunable = true\ntraining_cost_per_1k = 0.008\n"
    if local:
        toml += '[[models]]\nname = "local"\nprovider = "local"\nfine_tunable = true\n'
    return toml


@pytest.fixture
async def tuning() -> AsyncIterator[tuple[FakeOpenAI, FakeFineTuning]]:
    server = FakeOpenAI()
    fine = FakeFineTuning().mount(server)
    await server.start()
    yield server, fine
    await server.stop()


@pytest.fixture
async def svc(tmp_path: Path, database_url: str, embedder, tuning) -> AsyncIterator[Services]:
    services = await make_services(tmp_path, database_url, embedder, tunable_toml(tuning[0].base_url, local=True))
    yield services
    await services.close()


async def teach(services: Services, n: int = 12) -> None:
    examples = [
        ("positive", pair(f"When does the Lantern Tea House open on day {i}?", f"At 7:{i:02d}.")) for i in range(n)
    ]
    await add_examples(services.record, examples, guild_id=None, user_id=None, source="teach.jsonl")


async def start(services: Services, base: str = "chat", **kw) -> int:
    job = await start_job(
        JobStore(services.record.engine),
        services.registry,
        services.record,
        data_dir=services.settings.data_dir,
        bot_name="Observer",
        base=base,
        **kw,
    )
    return job.id


def runner(services: Services, holder: str = "p1", **options) -> TrainingRunner:
    opts = RunnerOptions(lease_seconds=600, local_command=STAND_IN, **options)
    return TrainingRunner(JobStore(services.record.engine), services.registry, services.settings.data_dir, holder, opts)


async def drive(run: TrainingRunner, job_id: int) -> None:
    while (job := await run.store.get(job_id)) is not None and job.active:
        await run.pass_once()
        await asyncio.sleep(0.02)


async def test_only_one_local_job_even_when_two_start_at_once(svc: Services):
    store = JobStore(svc.record.engine)
    kw = dict(provider="local", base="local", method="sft", epochs=1, train_examples=1, test_examples=0, train_bytes=1)
    results = await asyncio.gather(*(store.create(**kw) for _ in range(4)), return_exceptions=True)  # type: ignore[arg-type]
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1 and all(isinstance(r, LocalJobBusy) and r.job_id == won[0].id for r in results if r not in won)
    remote = await store.create(**{**kw, "provider": "remote", "base": "chat"})  # type: ignore[arg-type]
    assert remote.state == "queued", "remote jobs do not take the local slot"
    assert await store.finish(won[0].id, "cancelled")
    assert not await store.finish(won[0].id, "succeeded"), "the first end wins"
    assert (await store.get(won[0].id)).state == "cancelled"  # type: ignore[union-attr]
    again = await store.create(**kw)  # type: ignore[arg-type]
    assert again.state == "queued", "a cancelled job frees the slot"


async def test_a_remote_job_runs_to_a_model_the_list_keeps(
    svc: Services, tuning, tmp_path: Path, database_url: str, embedder
):
    server, fine = tuning
    await teach(svc)
    job_id = await start(svc, epochs=2)
    [upload] = fine.files.values()
    assert upload["purpose"] == "fine-tune" and upload["filename"].endswith(".jsonl")
    lines = fine.contents[upload["id"]].decode().splitlines()
    assert all(json.loads(line)["messages"][-1]["role"] == "assistant" for line in lines)

    seen: list[dict] = []
    run = runner(svc)
    while (job := await run.store.get(job_id)) is not None and job.active:
        await run.pass_once()
        job = await run.store.get(job_id)
        if job and job.progress and job.progress not in seen:
            seen.append(job.progress)
    assert job is not None and job.state == "succeeded", job
    assert [p["step"] for p in seen] == list(range(1, len(seen) + 1)) and seen[-1]["steps"] == len(seen)
    assert seen[-1]["loss"] < seen[0]["loss"]
    assert len(fine.jobs) == 1
    [remote] = fine.jobs.values()
    assert job.model_name == "chat-ft1" and job.result_model == remote.fine_tuned_model
    assert job.cost_usd == pytest.approx(remote.trained_tokens / 1000 * 0.008) and job.cost_usd > 0
    assert svc.registry.spec("chat-ft1").model == remote.fine_tuned_model
    await svc.close()

    again = await make_services(tmp_path, database_url, embedder, tunable_toml(server.base_url, local=True))
    try:
        assert again.registry.spec("chat-ft1").model == remote.fine_tuned_model, (
            "the model list keeps it after a restart"
        )
    finally:
        await again.close()


async def test_the_providers_words_reach_the_operator(svc: Services, tuning):
    _, fine = tuning
    await teach(svc, n=3)
    job_id = await start(svc)
    run = runner(svc)
    await drive(run, job_id)
    job = await run.store.get(job_id)
    assert job is not None and job.state == "failed"
    assert job.error == (
        "The job failed due to an invalid training file. Training file has 3 example(s), but must have at least 10 examples"
    )
    with pytest.raises(TrainingError, match="chat2 is not marked fine_tunable|no model called"):
        await start(svc, base="chat2")

    trainer = RemoteTrainer(svc.registry.spec("chat"))
    try:
        with pytest.raises(
            RemoteError,
            match=r"^Expected file to have JSONL format, where every line is a JSON dictionary\. Line 2 is not a dictionary",
        ):
            await trainer.upload(b'{"messages": []}\n[1, 2]\n', "x.jsonl")
        with pytest.raises(RemoteError, match="Must be .jsonl"):
            await trainer.upload(b'{"messages": []}\n', "x.json")
        file = await trainer.client.files.create(file=("a.jsonl", b"{}\n"), purpose="assistants")
        with pytest.raises(RemoteError, match="does not have purpose 'fine-tune'"):
            await trainer.create(file_id=file.id, method="sft", epochs=1, suffix="x", observer_job_id=99)
        from openai import BadRequestError

        with pytest.raises(BadRequestError, match="'tuning' is not one of"):
            await trainer.client.files.create(file=("a.jsonl", b"{}\n"), purpose="tuning")  # type: ignore[arg-type]
    finally:
        await trainer.close()


async def test_a_job_created_just_before_a_crash_is_found_not_made_twice(svc: Services, tuning):
    _, fine = tuning
    await teach(svc)
    job_id = await start(svc)
    job = await JobStore(svc.record.engine).get(job_id)
    assert job is not None and job.remote_file_id
    trainer = RemoteTrainer(svc.registry.spec("chat"))
    try:  # what the crashed process did before it could store the provider's id
        await trainer.create(file_id=job.remote_file_id, method="sft", epochs=1, suffix="x", observer_job_id=job_id)
    finally:
        await trainer.close()
    await drive(runner(svc, holder="survivor"), job_id)
    assert len(fine.jobs) == 1
    assert (await JobStore(svc.record.engine).get(job_id)).state == "succeeded"  # type: ignore[union-attr]


async def test_cancel_stops_the_providers_job(svc: Services, tuning):
    from agent.training.runner import cancel_job

    _, fine = tuning
    await teach(svc)
    job_id = await start(svc)
    run = runner(svc)
    store = run.store
    while not (job := await store.get(job_id)).progress:  # type: ignore[union-attr]
        await run.pass_once()
    assert await cancel_job(store, svc.registry, job)  # type: ignore[arg-type]
    [remote] = fine.jobs.values()
    assert remote.status == "cancelled"
    assert (await store.get(job_id)).state == "cancelled"  # type: ignore[union-attr]
    await run.pass_once()
    assert (await store.get(job_id)).state == "cancelled", "a later look changes nothing"  # type: ignore[union-attr]


async def test_a_local_job_runs_the_trainer_process_and_resumes_after_it_was_killed(svc: Services):
    await teach(svc)
    job_id = await start(svc, base="local", epochs=2)
    folder = job_dir(svc.settings.data_dir, job_id)
    params = json.loads((folder / "params.json").read_text())
    assert params["method"] == "sft" and params["epochs"] == 2 and params["threads"] >= 1
    (folder / "pause-at").write_text("3")
    run = runner(svc)
    store = run.store
    while (await store.get(job_id)).progress.get("step") != 2:  # type: ignore[union-attr]
        await run.pass_once()
        await asyncio.sleep(0.02)
    job = await store.get(job_id)
    assert job is not None and job.state == "running" and job.worker_pid
    os.killpg(job.worker_pid, signal.SIGKILL)  # the trainer dies (the machine ran out of memory, say)
    await run._children[job_id].wait()
    (folder / "go").write_text("")
    await drive(run, job_id)
    job = await store.get(job_id)
    assert job is not None and job.state == "succeeded", job
    assert job.note == "resumed from checkpoint"
    steps = [json.loads(line)["step"] for line in (folder / "progress.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4], "no step was trained twice"
    assert job.cpu_seconds == 12.5 and job.result_model == str(folder / "adapter.gguf")
    again = await store.create(
        provider="local", base="local", method="sft", epochs=1, train_examples=1, test_examples=0, train_bytes=1
    )
    assert again.state == "queued", "the finished job freed the local slot"


async def test_a_local_trainer_that_fails_says_why(svc: Services):
    await teach(svc)
    job_id = await start(svc, base="local")
    (job_dir(svc.settings.data_dir, job_id) / "fail").write_text("")
    run = runner(svc)
    await drive(run, job_id)
    job = await run.store.get(job_id)
    assert job is not None and job.state == "failed"
    assert job.error == "cannot train qwen2.5-coder-0.5b-instruct: the stand-in was told to fail"


async def test_a_providers_error_that_echoes_the_key_is_stored_and_shown_redacted(
    tmp_path: Path, database_url: str, embedder, monkeypatch: pytest.MonkeyPatch
):
    """Some proxies echo the Authorization header in their error: /train start's answer, the job's
    stored error and /train status must not carry the key (a tester's finding)."""
    from aiohttp import web

    from agent.training.show import status

    key = "sk-SECRET-abcdef0123456789XYZ"
    monkeypatch.setenv("LEAKY_KEY", key)

    async def files(request: web.Request) -> web.Response:
        said = f"Invalid API key in header 'Authorization: {request.headers.get('Authorization')}'"
        return web.json_response({"error": {"message": said, "type": "invalid_request_error"}}, status=401)

    app = web.Application()
    app.router.add_post("/v1/files", files)
    runner_ = web.AppRunner(app)
    await runner_.setup()
    site = web.TCPSite(runner_, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    toml = (
        f'[[models]]\nname = "leaky"\nmodel = "x"\nbase_url = "http://127.0.0.1:{port}/v1"\n'
        'api_key_env = "LEAKY_KEY"\nfine_tunable = true\n'
    )
    services = await make_services(tmp_path, database_url, embedder, toml)
    try:
        await teach(services)
        with pytest.raises(TrainingError) as refused:
            await start(services, base="leaky")
        assert "Invalid API key" in str(refused.value) and key not in str(refused.value)
        store = JobStore(services.record.engine)
        job = await store.create(
            provider="remote", base="leaky", method="sft", epochs=1, train_examples=1, test_examples=0, train_bytes=1
        )
        await store.finish(job.id, "failed", error=f"HTTP 401: Bearer {key} refused", note=f"key={key}")
        stored = await store.get(job.id)
        assert stored is not None and key not in (stored.error or "") + stored.note
        assert key not in status(stored) and "[redacted]" in status(stored)
    finally:
        await services.close()
        await runner_.cleanup()


async def test_a_model_trained_on_one_servers_data_answers_there_only(svc: Services):
    """A finished job's model is its server's: other servers' /model list, /model set, /test and the
    judge's menu do not offer it, and the router never routes another server's message to it."""
    from agent.training.runner import tuned_spec

    registry = svc.registry
    base = registry.spec("chat")
    job = await JobStore(svc.record.engine).create(
        provider="remote",
        base="chat",
        method="sft",
        epochs=1,
        train_examples=1,
        test_examples=0,
        train_bytes=1,
        guild_id=111,
    )
    job = job.__class__(**{**job.__dict__, "model_name": "chat-ft9", "result_model": "ft:chat:x", "state": "succeeded"})
    spec = tuned_spec(job, base)
    assert spec is not None and spec.guild_id == 111 and registry.add(spec)
    assert "chat-ft9" in registry.names_for(111) and "chat-ft9" not in registry.names_for(222)
    assert "chat-ft9" in registry.menu(111) and "chat-ft9" not in registry.menu(222)
    assert "chat-ft9" not in registry.names_for(None), "nor the host's console"
    here = await svc.router.pick("chat-ft9", guild_id=111)
    elsewhere = await svc.router.pick("chat-ft9", guild_id=222)
    assert getattr(here, "name", None) == "chat-ft9"
    assert getattr(elsewhere, "name", None) != "chat-ft9" and "chat-ft9" not in getattr(elsewhere, "order", ())
