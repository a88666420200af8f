"""`huimin import-delegates FILE`: send a roster file's rows to the service, print the row-level report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from services.delegates.roster import duplicate_rows, read_roster
from shared.contracts.delegates import SERVICE, ImportRoster
from shared.errors import HuiminError
from shared.rpc import RpcClient
from shared.subjects import command_subject

STATUS_NAMES = {"created": "新登记", "updated": "已更新", "unchanged": "无变化", "error": "有误"}


async def import_file(client: RpcClient, path: Path, *, reason: str, actor: str, batch: int = 200) -> dict[str, Any]:
    """Import a CSV/XLSX roster in batches; the merged row-level report (a file problem raises)."""
    roster = read_roster(path.read_bytes(), path.name)
    rows: list[dict[str, Any]] = []
    # Batches keep each request short; a later duplicate of an earlier batch's id is caught here.
    dups = duplicate_rows(roster.rows)
    send = [r for r in roster.rows if r.row not in dups]
    for r in roster.rows:
        if r.row in dups:
            rows.append({"row": r.row, "delegate_id": r.fields.get("delegate_id"), "name": r.fields.get("name"),
                         "status": "error", "error": {"code": "validation", "message":
                         f"代表编号与第 {dups[r.row]} 行重复 / same delegate id as row {dups[r.row]}", "details": None}})
    for i in range(0, len(send), batch):
        cmd = ImportRoster(rows=send[i:i + batch], reason=reason)
        reply = await client.call(command_subject(SERVICE, cmd.name), cmd, actor=actor, timeout=60)
        rows += reply["rows"]
    rows.sort(key=lambda r: r["row"])
    counts = Counter(r["status"] for r in rows)
    return {"file": path.name, "rows": rows, "ignored_columns": roster.ignored_columns,
            "summary": {k: counts.get(k, 0) for k in STATUS_NAMES}}


def format_report(report: dict[str, Any]) -> str:
    """The report as lines for the office: one per row, then the totals."""
    lines = [f"名册 {report['file']} 导入结果 / roster import report"]
    if report["ignored_columns"]:
        lines.append(f"  未使用的列 / ignored columns: {'、'.join(report['ignored_columns'])}")
    for r in report["rows"]:
        who = f"{r.get('delegate_id') or '-'} {r.get('name') or ''}".strip()
        lines.append(f"  第 {r['row']} 行  {who}: {STATUS_NAMES[r['status']]} ({r['status']})")
        error = r.get("error")
        if error:
            lines.append(f"      {error['message']}")
            details = error.get("details")
            for d in details if isinstance(details, list) else []:
                lines.append(f"      - {d.get('field')}: {d.get('message')}")
    s = report["summary"]
    lines.append("合计 / total: " + "，".join(f"{STATUS_NAMES[k]} {k} {s[k]}" for k in STATUS_NAMES))
    return "\n".join(lines)


async def run(client: RpcClient, path: Path, *, reason: str, actor: str) -> int:
    """Import and print; exit status 1 if a row (or the file) was refused."""
    try:
        report = await import_file(client, path, reason=reason, actor=actor)
    except HuiminError as exc:
        print(f"名册无法导入 / the roster cannot be imported: {exc.message}")
        for d in exc.details if isinstance(exc.details, list) else []:
            print(f"  - {d.get('field')}: {d.get('message')}")
        return 1
    print(format_report(report))
    return 1 if report["summary"]["error"] else 0
