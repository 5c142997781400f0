"""Two processes on one PostgreSQL database, each running the real reminder scheduler: reminders due in
the same second are each delivered exactly once, and both processes take a share (bench.reminders' run)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine.url import make_url

from bench.reminders import run
from tests.conftest import POSTGRES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason="needs OBSERVER_TEST_POSTGRES_URL")]


async def test_two_processes_deliver_each_reminder_exactly_once():
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL).set(database="obs_rem_two").render_as_string(hide_password=False)
    figures = await run(url, count=60, processes=2, lead_s=8.0)
    assert figures["duplicates"] == 0
    assert figures["p0_fired"] + figures["p1_fired"] == 60
