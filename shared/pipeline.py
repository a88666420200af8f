"""A write-buffering stand-in for an asyncpg connection: appliers' writes go out in pipelined groups.

Read-model appliers issue one statement at a time, each a round trip. Handed a
`BufferedConnection` instead, their `execute(sql, *args)` calls are queued, not sent; a flush sends
each run of the same SQL text with one `executemany` (asyncpg pipelines it: one round trip).

Order: a queued statement joins the last group of its SQL text only if no statement queued after
that group touches a table it touches, so only statements on disjoint tables change places
(they commute) and every table sees its statements in the order they were issued. A read first
sends every queued group it depends on (the groups touching its tables, and the earlier groups
those depend on), so it sees every earlier write. Tables are the known table names a SQL text
mentions (a statement naming none of them conflicts with everything). This holds for plain SQL
over the known tables: no foreign keys or functions reaching other tables, and a table written by a
trigger (the record view's pr_scores and pr_score_counts) is read by queries only, never by an
applier. Those triggers also read pr_delegates, which an applier writes: each statement keeps their
tables equal to a function of the others, so the order of the two tables' statements does not matter.

`execute` therefore returns None, not the status: an applier that needs it (an "UPDATE 0" check)
calls `execute_now`. An error of a queued statement surfaces at the flush, so a caller that must
pin an error on one event flushes before that event is done.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_CREATE_TABLE = re.compile(r"CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_]\w*)", re.I)

# Methods returning objects that talk to the server later (when entered or iterated).
_DEFERRED_TALKERS = frozenset({"transaction", "cursor"})

Tables = frozenset[str] | None  # None: unknown, conflicts with every statement


class TableIndex:
    """Which known tables a SQL text mentions (cached per text)."""

    def __init__(self, tables: Iterable[str]) -> None:
        self.known = frozenset(t.lower() for t in tables)
        self._cache: dict[str, Tables] = {}

    @classmethod
    def from_ddl(cls, *ddl: str) -> TableIndex:
        """The tables created by some DDL texts."""
        return cls(name for text in ddl for name in _CREATE_TABLE.findall(text))

    def of(self, sql: str) -> Tables:
        """The known tables `sql` mentions; None when it mentions none (then it may touch anything)."""
        try:
            return self._cache[sql]
        except KeyError:
            found = frozenset(w.lower() for w in _WORD.findall(sql)) & self.known
            tables = self._cache[sql] = found or None
            return tables


def _conflict(a: Tables, b: Tables) -> bool:
    return a is None or b is None or not a.isdisjoint(b)


def _union(a: Tables, b: Tables) -> Tables:
    return None if a is None or b is None else a | b


@dataclass
class _Group:
    sql: str
    tables: Tables
    args: list[tuple[Any, ...]] = field(default_factory=list)


class BufferedConnection:
    """Queues `execute` with arguments; reads, `flush` and anything else send what they depend on first."""

    def __init__(self, conn: asyncpg.Connection, tables: TableIndex) -> None:
        self._conn, self._tables = conn, tables
        self._groups: list[_Group] = []
        # For measuring: statements queued, the round trips they took, and reads (a round trip each).
        self.sent_statements, self.sent_groups, self.reads = 0, 0, 0

    @property
    def pending(self) -> int:
        """Statements queued and not sent yet."""
        return sum(len(g.args) for g in self._groups)

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> None:
        """Queue a statement with arguments (a statement without is sent now: it may be several)."""
        if not args or timeout is not None:
            await self.execute_now(query, *args, timeout=timeout)
            return
        tables = self._tables.of(query)
        for group in reversed(self._groups):
            if _conflict(group.tables, tables):
                if group.sql == query:
                    group.args.append(args)
                    return
                break
        self._groups.append(_Group(query, tables, [args]))

    async def execute_now(self, query: str, *args: Any, timeout: float | None = None) -> str:
        """Send everything queued, then this statement; its status ("UPDATE 0") is returned."""
        await self.flush()
        return await self._conn.execute(query, *args, timeout=timeout)

    async def fetch(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:
        """Rows of a query, after the queued writes it depends on."""
        await self.flush(self._tables.of(query))
        self.reads += 1
        return await self._conn.fetch(query, *args, timeout=timeout, record_class=record_class)

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:
        """First row of a query, after the queued writes it depends on."""
        await self.flush(self._tables.of(query))
        self.reads += 1
        return await self._conn.fetchrow(query, *args, timeout=timeout, record_class=record_class)

    async def fetchval(self, query: str, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        """First value of a query, after the queued writes it depends on."""
        await self.flush(self._tables.of(query))
        self.reads += 1
        return await self._conn.fetchval(query, *args, column=column, timeout=timeout)

    async def flush(self, tables: Tables = None) -> None:
        """Send the queued writes in order: those a statement on `tables` depends on, or (None) all."""
        if not self._groups:
            return
        if tables is None:
            send, self._groups = self._groups, []
        else:
            send, self._groups = self._depended_on(tables)
        for group in send:
            self.sent_groups += 1
            self.sent_statements += len(group.args)
            if len(group.args) == 1:
                await self._conn.execute(group.sql, *group.args[0])
            else:
                await self._conn.executemany(group.sql, group.args)

    def _depended_on(self, tables: Tables) -> tuple[list[_Group], list[_Group]]:
        # Backwards: a group is needed if the read, or a later needed group, touches its tables.
        need, send, keep = tables, [], []
        for group in reversed(self._groups):
            if _conflict(group.tables, need):
                send.append(group)
                need = _union(need, group.tables)
            else:
                keep.append(group)
        return send[::-1], keep[::-1]

    def __getattr__(self, name: str) -> Any:
        # Anything else that talks to the server (executemany, copy_*, prepare, ...) runs after
        # every queued write; a transaction or cursor would talk later, out of order: refused.
        attr = getattr(self._conn, name)
        if inspect.iscoroutinefunction(attr):
            async def after_flush(*args: Any, **kwargs: Any) -> Any:
                await self.flush()
                return await attr(*args, **kwargs)

            return after_flush
        if name in _DEFERRED_TALKERS and self._groups:
            raise RuntimeError(f"BufferedConnection.{name}: await flush() for the queued writes first")
        return attr
