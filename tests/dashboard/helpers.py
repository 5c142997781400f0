"""Shared by the dashboard's tests and its benchmark: a record filled the way the Discord door fills it
(stored waiting, claimed, run through the real graph, marked), and a dashboard on it."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from agent.events import Event
from agent.memory.progress import Progress
from agent.services import Services
from agent.settings import Settings
from agent.state import Context
from agent.stream import RunOutcome, run_events
from dashboard.context import Dashboard
from dashboard.serve import build_dashboard
from tests.conftest import reply_graph
from tests.fakes.discord_oauth import FakeDiscordOAuth

SECRET = "dashboard-session-secret-0123456789"


async def door_run(services: Services, event: Event) -> RunOutcome:
    """As the Discord door answers a message: stored `waiting`, claimed `answering`, the reply graph
    run (its stream read by `run_events`, which notes the run's steps), then `answered` (or `skipped`
    when the run decided not to answer)."""
    progress = Progress(services.record.engine)
    await services.record.store_event(event, state="waiting")
    assert await progress.claim(event.message_id, ("waiting",))
    stream = reply_graph(services).astream({"event": event}, context=Context(), stream_mode=["custom", "values"])
    outcome = RunOutcome()
    async for item in run_events(stream, services.record):
        if isinstance(item, RunOutcome):
            outcome = item
    await progress.mark(event.message_id, "answered" if outcome.reply else "skipped", sources=("answering",))
    await services.record.flush()
    return outcome


def dashboard_settings(services: Services, oauth: FakeDiscordOAuth | None = None, **more: Any) -> Settings:
    values: dict[str, Any] = {"dashboard_secret": SecretStr(SECRET), "dashboard_poll_seconds": 0.1, **more}
    if oauth is not None:
        values |= {
            "dashboard_client_id": oauth.client_id,
            "dashboard_client_secret": SecretStr(oauth.client_secret),
            "dashboard_redirect_uri": "http://127.0.0.1:8710/auth/discord/callback",
            "dashboard_oauth_url": oauth.authorize_url,
            "dashboard_api_base": oauth.api_base,
        }
        oauth.redirect_uris = [values["dashboard_redirect_uri"]]
    return services.settings.model_copy(update=values)


async def dashboard_on(services: Services, oauth: FakeDiscordOAuth | None = None, **more: Any) -> Dashboard:
    # The services' embedder, already loaded: the Knowledge page searches what the bot's memory holds.
    return await build_dashboard(dashboard_settings(services, oauth, **more), embedder=services.embedder)
