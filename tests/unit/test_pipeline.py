"""BufferedConnection: queued writes keep each table's order, group runs, and go out before reads need them."""

from __future__ import annotations

from typing import Any

import pytest

from shared.pipeline import BufferedConnection, TableIndex

TABLES = TableIndex.from_ddl("""
    CREATE TABLE a (k text PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS b (k text);
    CREATE TABLE c (k text);
""")

INS_A = "INSERT INTO a (k) VALUES ($1)"
UPD_A = "UPDATE a SET k = $2 WHERE k = $1"
INS_B = "INSERT INTO b (k) VALUES ($1)"
INS_C = "INSERT INTO c (k) VALUES ($1)"
COPY_A_TO_B = "INSERT INTO b (k) SELECT k FROM a WHERE k = $1"


class FakeConn:
    """Records what reaches the server: ('execute', sql, args) or ('many', sql, [args...]) or reads."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.fail_on = fail_on

    async def execute(self, sql: str, *args: Any, timeout: float | None = None) -> str:
        if sql == self.fail_on:
            raise ValueError("boom")
        self.sent.append(("execute", sql, args))
        return "UPDATE 0"

    async def executemany(self, sql: str, args: list[tuple[Any, ...]]) -> None:
        if sql == self.fail_on:
            raise ValueError("boom")
        self.sent.append(("many", sql, list(args)))

    async def fetch(self, sql: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> list:
        self.sent.append(("fetch", sql, args))
        return []

    async def fetchval(self, sql: str, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        self.sent.append(("fetchval", sql, args))
        return 1

    async def copy_records_to_table(self, table: str, **kw: Any) -> str:
        self.sent.append(("copy", table, ()))
        return "COPY 1"

    def transaction(self) -> object:
        return object()

    def is_in_transaction(self) -> bool:
        return True


def per_statement(sent: list[tuple[Any, ...]]) -> list[tuple[str, tuple[Any, ...]]]:
    """What was sent as single statements in order (an executemany unrolled)."""
    out = []
    for kind, sql, args in sent:
        out += [(sql, a) for a in args] if kind == "many" else [(sql, args)]
    return out


async def test_nothing_is_sent_until_a_flush():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    assert await db.execute(INS_A, "1") is None
    assert conn.sent == [] and db.pending == 1
    await db.flush()
    assert conn.sent == [("execute", INS_A, ("1",))] and db.pending == 0


async def test_runs_on_disjoint_tables_are_grouped_each_in_order():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    for i in range(3):  # interleaved like two views, or a view writing two tables per event
        await db.execute(INS_A, f"a{i}")
        await db.execute(INS_B, f"b{i}")
    await db.flush()
    assert conn.sent == [("many", INS_A, [("a0",), ("a1",), ("a2",)]), ("many", INS_B, [("b0",), ("b1",), ("b2",)])]
    assert (db.sent_groups, db.sent_statements) == (2, 6)


async def test_different_statements_on_one_table_keep_their_order():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    issued = [(INS_A, ("1",)), (UPD_A, ("1", "2")), (INS_A, ("3",)), (INS_A, ("4",)), (UPD_A, ("3", "5"))]
    for sql, args in issued:
        await db.execute(sql, *args)
    await db.flush()
    assert per_statement(conn.sent) == issued
    assert [s[0] for s in conn.sent] == ["execute", "execute", "many", "execute"]  # the two INSERTs grouped


async def test_a_statement_touching_two_tables_is_a_barrier_for_both():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    await db.execute(INS_A, "1")
    await db.execute(COPY_A_TO_B, "1")  # reads a, writes b
    await db.execute(INS_A, "2")  # must not join the first INSERT: it would pass the copy
    await db.execute(INS_C, "c")
    await db.flush()
    assert per_statement(conn.sent) == [(INS_A, ("1",)), (COPY_A_TO_B, ("1",)), (INS_A, ("2",)), (INS_C, ("c",))]


async def test_a_statement_on_no_known_table_keeps_its_place():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    await db.execute(INS_A, "1")
    await db.execute("SELECT pg_notify($1, 'x')", "chan")  # may touch anything
    await db.execute(INS_A, "2")
    await db.flush()
    assert [s[1] for s in conn.sent] == [INS_A, "SELECT pg_notify($1, 'x')", INS_A]


async def test_a_read_first_sends_the_writes_it_depends_on_and_only_those():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    await db.execute(INS_C, "c1")
    await db.execute(INS_A, "1")
    await db.execute(COPY_A_TO_B, "1")  # depends on the INSERT INTO a
    await db.fetch("SELECT k FROM b")
    assert per_statement(conn.sent) == [(INS_A, ("1",)), (COPY_A_TO_B, ("1",)), ("SELECT k FROM b", ())]
    assert db.pending == 1  # the write to c waits
    await db.execute(INS_C, "c2")
    await db.flush()
    assert conn.sent[-1] == ("many", INS_C, [("c1",), ("c2",)])


async def test_a_read_of_unknown_tables_sends_everything():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    await db.execute(INS_A, "1")
    await db.execute(INS_C, "c")
    assert await db.fetchval("SELECT now()") == 1
    assert [s[1] for s in conn.sent] == [INS_A, INS_C, "SELECT now()"]


async def test_execute_without_arguments_and_execute_now_go_out_at_once_after_the_queue():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    await db.execute(INS_A, "1")
    await db.execute("TRUNCATE b")
    assert await db.execute_now(UPD_A, "1", "2") == "UPDATE 0"
    assert [s[1] for s in conn.sent] == [INS_A, "TRUNCATE b", UPD_A]


async def test_other_coroutine_methods_flush_first_and_sync_ones_refuse_pending_writes():
    conn = FakeConn()
    db = BufferedConnection(conn, TABLES)
    await db.execute(INS_A, "1")
    with pytest.raises(RuntimeError, match="flush"):
        db.transaction()
    assert db.is_in_transaction()  # asks nothing of the server: allowed
    assert await db.copy_records_to_table("a", records=[("2",)]) == "COPY 1"
    assert [s[1] for s in conn.sent] == [INS_A, "a"]
    assert db.transaction() is not None  # nothing pending now


async def test_an_error_of_a_queued_statement_surfaces_at_the_flush():
    conn = FakeConn(fail_on=INS_B)
    db = BufferedConnection(conn, TABLES)
    await db.execute(INS_B, "1")  # queued: no error yet
    await db.execute(INS_B, "2")
    with pytest.raises(ValueError, match="boom"):
        await db.flush()
    assert db.pending == 0  # the transaction is failed anyway: nothing is sent twice


def test_tables_are_whole_words_of_known_names():
    assert TABLES.of("INSERT INTO a (k) SELECT k FROM b") == {"a", "b"}
    assert TABLES.of("UPDATE ab SET a_k = 1") is None  # no known table named
    assert TABLES.of('DELETE FROM "C" WHERE k = $1') == {"c"}
