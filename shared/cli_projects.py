"""`huimin` subcommands of the projects service: a department's progress report, and bulk imports.

    huimin report-progress --dept jhzjj --year 2026 --code 01 --as-of 2026-11-25 --percent 90 \\
        --milestone 方案设计 --milestone 施工招标 --narrative "..." --problems "..." --funds 2650
    huimin import-departments departments.xlsx
    huimin import-projects vote_results_2026.xlsx --year 2026
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from shared.config import get_settings
from shared.department_client import send_messages
from shared.rpc import RpcClient
from shared.subjects import command_subject
from shared.timeutil import local_date


def progress_message(args: argparse.Namespace) -> dict[str, Any]:
    """The progress message the arguments describe (docs/projects.md has every field)."""
    as_of = args.as_of or local_date(datetime.now(UTC)).isoformat()
    message = {
        # Keep the printed message_id to resend safely: the same id is recorded once.
        "message_id": args.message_id or f"{args.dept}-{args.year}-{args.code}-{as_of}-{uuid.uuid4().hex[:6]}",
        "year": args.year, "code": args.code, "as_of": as_of, "percent": args.percent,
        "milestones_completed": args.milestone or [], "narrative": args.narrative, "problems": args.problems,
        "funds_spent_wan": args.funds,
    }
    if args.correction_reason:
        message |= {"correction": True, "correction_reason": args.correction_reason}
    return message


def cmd_report_progress(args: argparse.Namespace) -> int:
    """Publish a progress report on HUIMIN_INGEST as a department and print its result."""
    from shared.cli import _print, _with_client  # noqa: PLC0415 (shared.cli imports this module)

    message = progress_message(args)

    async def send(client: RpcClient) -> dict[str, Any] | None:
        (result,) = await send_messages(client.nc, [(args.dept, "progress", message)], timeout=args.timeout)
        return result

    result = asyncio.run(_with_client(get_settings().nats_url, send))
    if result is None:
        print(f"消息已存入 HUIMIN_INGEST，但 {args.timeout:g} 秒内未收到处理结果 / stored, no result yet "
              f"(message_id {message['message_id']}); results arrive on huimin.ingest.result.{args.dept}")
        return 2
    _print(result)
    return 0 if result["status"] in ("accepted", "duplicate") else 1


def _import(command: str, path: str, **extra: Any) -> int:
    from shared.cli import _print, _with_client  # noqa: PLC0415

    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"no such file: {path}")
    payload = {"file_name": file.name, "content_base64": base64.b64encode(file.read_bytes()).decode(), **extra}
    reply = asyncio.run(_with_client(get_settings().nats_url, lambda c: c.request(
        command_subject("projects", command), payload, actor="cli", timeout=60)))
    _print(reply)
    bad_rows = reply.get("error", 0) if reply.get("ok") else 1  # an import reply counts its rows in error
    return 0 if bad_rows == 0 else 1


def cmd_import_departments(args: argparse.Namespace) -> int:
    """Register the departments of a CSV/XLSX file; print the per-row report."""
    return _import("import_departments", args.file)


def cmd_import_projects(args: argparse.Namespace) -> int:
    """Register the voted projects of a CSV/XLSX of vote results; print the per-row report."""
    return _import("import_voted_projects", args.file, year=args.year)


def add_subcommands(sub: Any) -> None:
    """Add report-progress, import-departments and import-projects to the `huimin` parser."""
    r = sub.add_parser("report-progress", help="as a department: report a project's progress over HUIMIN_INGEST")
    r.add_argument("--dept", required=True, help="your department code, e.g. jhzjj (the subject's <dept_code>)")
    r.add_argument("--year", type=int, default=date.today().year)
    r.add_argument("--code", required=True, help="project code within the year, e.g. 01")
    r.add_argument("--as-of", help="the day the report describes, YYYY-MM-DD (default: today)")
    r.add_argument("--percent", type=float, required=True, help="percent complete, 0-100")
    r.add_argument("--milestone", action="append", help="a completed plan milestone (repeat for each)")
    r.add_argument("--narrative", default="", help="进展情况")
    r.add_argument("--problems", default="", help="遇到的问题")
    r.add_argument("--funds", type=float, help="funds spent so far (万元)")
    r.add_argument("--correction-reason", help="marks the report a correction (percent may go down), with why")
    r.add_argument("--message-id", help="your id for the message; resending the same id is recorded once")
    r.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for the result")
    r.set_defaults(fn=cmd_report_progress)
    d = sub.add_parser("import-departments", help="register departments from a CSV/XLSX (代码, 名称, 简称)")
    d.add_argument("file")
    d.set_defaults(fn=cmd_import_departments)
    p = sub.add_parser("import-projects", help="register voted projects from a CSV/XLSX of vote results")
    p.add_argument("file")
    p.add_argument("--year", type=int, required=True)
    p.set_defaults(fn=cmd_import_projects)
