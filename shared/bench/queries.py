"""Query latency of every projection view at the data set's scale, over NATS (and HTTP when a gateway runs).

The queries are discovered from the projection's view modules, so a new view (city board,
supervision view, performance record ...) is measured as soon as it exists. Required fields are
filled with ids from the data set; a query that cannot be filled is listed with the reason.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pydantic
from nats.aio.client import Client as NatsClient

from shared.bench.dataset import YEAR, Shape
from shared.bench.progress import Reporter
from shared.bench.stats import latency_ms, summarise
from shared.contracts.base import Query
from shared.rpc import RpcClient
from shared.subjects import query_subject

# Queries the issue names, recognised by the (view, name) of their subject; the others are measured too.
NAMED = {"city board": ("board", "city"), "supervision view": ("supervision", None),
         "performance record": ("record", None)}


# Optional fields a query needs filled to be measured at all (a briefing needs its period), by query name.
OPTIONAL_FILLED = {"generate": ("year", "period", "day")}


def fillers(shape: Shape) -> dict[str, Any]:
    """Values from the data set for fields a query requires, by field name."""
    from shared.contracts.feedback import opinion_feedback_id

    code = shape.project_code(0)
    return {
        # The feedback service derives an item from each opinion raised at an activity (the first one here).
        "feedback_id": opinion_feedback_id(f"{code}-a2", "o1"),
        # A briefing of the month the data set's activities are busiest in (ACTIVITY_PLAN's months).
        "period": "month", "day": date(YEAR, 6, 15).isoformat(),
        "year": YEAR, "project_id": shape.project_id(0), "ref": shape.project_id(0), "code": code,
        "delegate_id": shape.delegate_id(0), "group_id": shape.group_id(0), "activity_id": f"{code}-a2",
        "contact_point_id": f"{code}-cp", "lead_unit": shape.lead_unit(0), "dept_code": shape.lead_unit(0),
        "department": shape.lead_unit(0), "reported_by": shape.lead_unit(0),
    }


def discover() -> list[tuple[str, type[Query]]]:
    """(subject, query class) of every query the projection answers."""
    from services.projection.views import VIEWS  # the projection's own discovery

    return [(query_subject(view.VIEW, cls.name), cls) for view in VIEWS for cls in view.QUERIES]


def payload(cls: type[Query], shape: Shape) -> tuple[dict[str, Any] | None, str | None]:
    """A valid request for the query (the year set where it can be), or why none could be made."""
    values = fillers(shape)
    body = {}
    for name, field in cls.model_fields.items():
        key = field.alias or name
        if name in values and (field.is_required() or name in OPTIONAL_FILLED.get(cls.name, ("year",))):
            body[key] = values[name]
        elif field.is_required():
            return None, f"needs a value for {name!r}"
    try:
        cls.model_validate(body)
    except pydantic.ValidationError as exc:
        return None, f"no valid request: {exc.errors()[0]['msg']}"
    return body, None


# Each run of a query stops after its samples or this long, whichever comes first (a slow view must
# not hold the run for minutes); at least MIN_SAMPLES are always taken.
MAX_SECONDS, MIN_SAMPLES = 2.0, 5


def _more(times: list[float], n: int, started: float) -> bool:
    return len(times) < n and (len(times) < MIN_SAMPLES or time.perf_counter() - started < MAX_SECONDS)


async def _sample(client: RpcClient, subject: str, body: dict[str, Any], n: int) -> dict[str, Any]:
    warm = [await client.request(subject, body) for _ in range(2)]  # the service prepares its statements
    if not any(r.get("ok") for r in warm):
        # A query that cannot answer (e.g. a reply over NATS's max payload times out) is not sampled.
        return {**latency_ms([]), "errors": 1, "first_error": warm[0].get("error")}
    times: list[float] = []
    errors, first_error, started = 0, None, time.perf_counter()
    while _more(times, n, started):
        t = time.perf_counter()
        reply = await client.request(subject, body)
        times.append(time.perf_counter() - t)
        if not reply.get("ok"):
            errors += 1
            first_error = first_error or reply.get("error")
    return {**latency_ms(times), "errors": errors, "first_error": first_error}


def named(subject: str) -> str | None:
    """Which of the issue's named views a subject is, if any (None for a name: any query of the view)."""
    _, _, view, name = subject.split(".", 3)
    for label, (want_view, want_name) in NAMED.items():
        if view == want_view and want_name in (None, name):
            return label
    if name == "supervision":  # the delegates view's supervision list, until a view of its own exists
        return "supervision view"
    return None


async def measure(nc: NatsClient, shape: Shape, *, samples: int, runs: int, reporter: Reporter) -> dict[str, Any]:
    """p50/p99 of each discovered query over NATS, each the median of `runs` runs."""
    client = RpcClient(nc, timeout=5)
    out: dict[str, Any] = {}
    for subject, cls in discover():
        body, why_not = payload(cls, shape)
        if body is None:
            out[subject] = {"available": False, "reason": why_not}
            continue
        results = []
        for _ in range(runs):
            results.append(await _sample(client, subject, body, samples))
            if results[-1]["samples"] == 0:
                break  # it did not answer: no point in asking again
        if all(r["errors"] >= max(1, r["samples"]) for r in results):
            out[subject] = {"available": False, "reason": f"every request failed: {results[0]['first_error']}"}
            continue
        out[subject] = {"available": True, "request": body, "named": named(subject), "over": "nats",
                        **summarise(results, ["p50_ms", "p99_ms"])}
        reporter.line(f"  query {subject}: p50 {out[subject]['p50_ms']} ms, p99 {out[subject]['p99_ms']} ms")
    for label in NAMED:
        if not any(named(subject) == label for subject in out):
            out[f"({label})"] = {"available": False, "reason": "no projection view answers it yet"}
    return out


def for_http(nats_results: dict[str, Any]) -> dict[str, Any]:
    """The queries worth timing over HTTP too: the named views, the projects list and the slowest over NATS.

    The gateway adds the same work to every query, so a few tell what it costs.
    """
    measured = {k: v for k, v in nats_results.items() if isinstance(v, dict) and v.get("available")}
    chosen = {k for k, v in measured.items() if v.get("named")} | ({"huimin.qry.projects.list"} & measured.keys())
    if measured:
        chosen.add(max(measured, key=lambda k: measured[k].get("p99_ms") or 0))
    return {k: measured[k] for k in sorted(chosen)}


BENCH_USER, BENCH_PASSWORD = "bench-admin", "bench-password-not-secret-2026"


async def measure_http(port: int, db_url: str, nats_queries: dict[str, Any], *, samples: int, runs: int,
                       reporter: Reporter) -> dict[str, Any]:
    """p50/p99 of the same queries through the gateway's HTTP API (a logged-in admin, as the dashboard)."""
    try:
        import httpx

        from services.gateway.admin import create_user
    except ImportError as exc:
        return {"available": False, "reason": f"no gateway or HTTP client here: {exc}"}
    from shared.config import Settings

    await create_user(Settings(database_url=db_url), BENCH_USER, BENCH_PASSWORD, "admin", "压测")
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        login = await http.post("/api/v1/auth/login", json={"username": BENCH_USER, "password": BENCH_PASSWORD})
        login.raise_for_status()
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        for subject, q in nats_queries.items():
            if not q.get("available"):
                continue
            _, _, view, name = subject.split(".", 3)
            path = f"/api/v1/views/{view}/{name}"
            # The dashboard reads with GET and query parameters; POST (with the CSRF header) when a value is a list.
            scalar = all(isinstance(v, str | int | float | bool) for v in q["request"].values())

            async def ask(path: str = path, body: dict[str, Any] = q["request"], scalar: bool = scalar) -> Any:
                if scalar:
                    return await http.get(path, params=body)
                return await http.post(path, json=body, headers=headers)

            results = []
            for _ in range(runs):
                for _ in range(2):
                    await ask()
                times, errors, first_error, started = [], 0, None, time.perf_counter()
                while _more(times, samples, started):
                    t = time.perf_counter()
                    resp = await ask()
                    times.append(time.perf_counter() - t)
                    if resp.status_code != 200:
                        errors += 1
                        first_error = first_error or f"{resp.status_code} {resp.text[:300]}"
                results.append({**latency_ms(times), "errors": errors, "first_error": first_error})
            out[path] = {"available": errors < len(times), "named": q.get("named"), "over": "http",
                         "method": "GET" if scalar else "POST",
                         **summarise(results, ["p50_ms", "p99_ms"])}
            if not out[path]["available"]:
                out[path]["reason"] = f"every request failed: {first_error}"
            else:
                reporter.line(f"  HTTP {path}: p50 {out[path]['p50_ms']} ms, p99 {out[path]['p99_ms']} ms")
    return out
