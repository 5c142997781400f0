"""The fixtures every dashboard test file shares: the fake Discord OAuth2 server, and a dashboard on
the file's own `filled` record."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agent.services import Services
from dashboard.context import Dashboard
from tests.dashboard.helpers import dashboard_on
from tests.fakes.discord_oauth import FakeDiscordOAuth


@pytest.fixture
async def oauth() -> AsyncIterator[FakeDiscordOAuth]:
    fake = FakeDiscordOAuth()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def dashboard(filled: Services, oauth: FakeDiscordOAuth) -> AsyncIterator[Dashboard]:
    board = await dashboard_on(filled, oauth)
    yield board
    await board.record.close()
