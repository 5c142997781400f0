"""A failed statement's error text (which reaches the log) names no member's words unless asked to."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from agent.memory.db import create_engine


@pytest.mark.parametrize("log_content", [False, True])
async def test_sql_parameters_stay_out_of_errors_unless_content_logging_is_on(
    tmp_path: Path, log_content: bool
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", log_content=log_content)
    words = "alice's secret plans for saturday"
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
            await conn.execute(text("INSERT INTO t VALUES (1, :body)"), {"body": words})
        with pytest.raises(IntegrityError) as failed:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1, :body)"), {"body": words})
    finally:
        await engine.dispose()
    assert (words in str(failed.value)) is log_content
