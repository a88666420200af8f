"""As-of views: a view as it stood at the end of a past day, from the event history."""

from __future__ import annotations

from datetime import date, timedelta

from services.projection.asof import as_of, models_named
from services.projection.runner import LIVE_SCHEMA
from services.projection.views import READ_MODELS
from services.projection.views.projects import list_projects
from shared.contracts.base import registry
from shared.contracts.projects import ListProjects, ProjectVoted
from tests.integration.views import T0, Stream, apply, views  # noqa: F401 (fixture)


def voted(code: str) -> ProjectVoted:
    return ProjectVoted(project_id=f"project-2026-{code}", year=2026, code=code, title=f"项目{code}", category="教育",
                        lead_unit="jhjyj", votes_for=100, votes_against=1, votes_abstain=1, voted_on=date(2026, 1, 20))


async def test_as_of_sees_only_what_had_happened_by_that_day(views):
    first, second = Stream("project-2026-01"), Stream("project-2026-02")
    await apply(views, [first.envelope(voted("01"), T0), second.envelope(voted("02"), T0 + timedelta(days=10))])
    models = models_named(READ_MODELS, "projects")

    async def listed(day: date) -> list[str]:
        async with views.pool.acquire() as conn:
            result = await as_of(conn, LIVE_SCHEMA, models, registry, day,
                                 lambda c: list_projects(c, ListProjects(year=2026)))
        return [i["project_id"] for i in result["items"]]

    assert await listed(T0.date() - timedelta(days=1)) == []
    assert await listed(T0.date()) == ["project-2026-01"]
    assert await listed(T0.date() + timedelta(days=10)) == ["project-2026-01", "project-2026-02"]
    # The live view is untouched, and no scratch schema is left behind.
    async with views.pool.acquire() as conn:
        assert (await list_projects(conn, ListProjects()))["total"] == 2
        assert not await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'asof_%'")
