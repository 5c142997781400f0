"""What `/test` and `observer test` share: which test set, which models, run and scored, and the chart.

Defaults: the held-out part of the server's training data (built now: the split is a hash of each
prompt, so it is the part the server's jobs held out), and the newest model this server trained beside
the model it was trained from; with no trained model, the default reply model alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agent.services import Services
from agent.training.dataset import ExampleError, build_dataset
from agent.training.evaluation import (
    MAX_CASES,
    TestCase,
    TestReport,
    cases_from_dataset,
    embedder_similarity,
    grade_with,
    parse_test_set,
    registry_asker,
    run_test,
)
from agent.training.jobs import JobStore


class TestRefused(ValueError):
    """The test cannot run as asked; the message says why and what to do instead."""

    __test__ = False


@dataclass(frozen=True)
class TestResult:
    __test__ = False

    report: TestReport
    chart: bytes  # PNG


async def choose_models(services: Services, guild_id: int | None, model: str | None, against: str | None) -> list[str]:
    """The models to compare, in order; TestRefused naming an unknown one."""
    names = services.registry.names_for(guild_id)  # another server's trained model is not this one's
    for name in (model, against):
        if name is not None and name not in names:
            raise TestRefused(f"no model called {name!r} in the model list")
    if model is None:
        jobs = await JobStore(services.record.engine).listing(guild_id, limit=20)
        trained = [j for j in jobs if j.model_name in names]
        newest = next((j for j in trained if j.state == "succeeded"), None)
        if newest is not None and newest.model_name is not None:
            model = newest.model_name
            against = against or (newest.base if newest.base in names else None)
        else:
            model = services.registry.default_model
    return [model] if against is None or against == model else [model, against]


async def choose_cases(services: Services, guild_id: int | None, text: str | None) -> list[TestCase]:
    """Cases from an uploaded or inline test set, else the held-out part of the server's data."""
    if text is not None:
        try:
            return parse_test_set(text)
        except ExampleError as exc:
            raise TestRefused(f"the test set cannot be read: {exc}") from None
    settings = services.settings
    built = await build_dataset(
        services.record,
        bot_name=settings.bot_name,
        guild_id=guild_id,
        keep_names=settings.training_keep_names,
        shared=guild_id is None,  # a server's report shows only what that server taught
    )
    cases = cases_from_dataset(built)
    if not cases:
        raise TestRefused(
            f"no held-out examples yet ({len(built.train)} examples, a held-out part needs at least 5); "
            "give a test set (a JSONL file or inline JSON)"
        )
    return cases


async def run_model_test(
    services: Services,
    *,
    guild_id: int | None,
    model: str | None = None,
    against: str | None = None,
    text: str | None = None,
    grader: str | None = None,
    limit: int = MAX_CASES,
    on_progress: Callable[[int, int], Awaitable[None]] | None = None,
) -> TestResult:
    """Run a test as `/test` does; TestRefused when the set or a model cannot be used."""
    from agent.training.chart import chart_png

    if grader is not None and grader not in services.registry.names_for(guild_id):
        raise TestRefused(f"no model called {grader!r} to grade with")
    models = await choose_models(services, guild_id, model, against)
    cases = await choose_cases(services, guild_id, text)
    ask = registry_asker(services.registry)
    grade = None
    if grader is not None:
        prompts = services.prompts
        grade = grade_with(ask, grader, lambda **values: prompts.render("grade", guild_id, **values))
    report = await run_test(
        cases,
        models,
        ask,
        embed=embedder_similarity(services.embedder),
        grade=grade,
        grader=grader,
        limit=limit,
        on_progress=on_progress,
    )
    chart = await asyncio.to_thread(chart_png, report)
    return TestResult(report, chart)
