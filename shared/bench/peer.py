"""The peer: the Python `eventsourcing` library (PostgreSQL persistence) appending the same events.

Run in its own process by the bench: python -m shared.bench.peer DSN EVENTS THREADS
It prints one JSON line: events written, seconds, events/s. Each event is a new aggregate's
creation (like a registered project), saved in its own transaction, as the library does it.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class VotedProject(Aggregate):
    """A project adopted by the vote, with the same fields as ProjectVoted."""

    @event("Voted")
    def __init__(self, year: int, code: str, title: str, category: str, lead_unit: str, votes_for: int,
                 votes_against: int, votes_abstain: int, voted_on: str) -> None:
        self.year, self.code, self.title, self.category = year, code, title, category
        self.lead_unit, self.voted_on = lead_unit, voted_on
        self.votes = (votes_for, votes_against, votes_abstain)


class Projects(Application):
    """Registers voted projects."""

    def register(self, i: int) -> None:
        """Create and save one project (one event, one transaction)."""
        self.save(VotedProject(2026, f"p-{i:06d}", "城区公共充电设施建设（压测）", "城市管理", "c01-cgj", 250, 5, 3,
                               "2026-01-14"))


def run(dsn: str, events: int, threads: int) -> dict[str, float | int]:
    """Append `events` events from `threads` threads; return the rate."""
    url = urlsplit(dsn)
    app = Projects(env={
        "PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1", "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres", "POSTGRES_PASSWORD": url.password or "unused",
        "POSTGRES_POOL_SIZE": str(threads), "POSTGRES_MAX_OVERFLOW": "0",
    })
    app.register(-1)  # tables created and connections warm before the clock starts
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(app.register, range(events)))
    elapsed = time.perf_counter() - started
    app.close()
    return {"events": events, "threads": threads, "seconds": round(elapsed, 3),
            "events_per_s": round(events / elapsed, 1)}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
