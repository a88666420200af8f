"""The `huimin` command: run the system, send commands and queries, rebuild read models."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

import nats
import nats.errors

from shared.config import get_settings
from shared import demo
from shared.bench import cli as bench_cli
from shared.rpc import RpcClient
from shared.runtime.stack import SERVICES, NotReady, Stack, wait_ready
from shared.subjects import command_subject, health_subject, query_subject


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


async def _with_client(nats_url: str | None, fn: Any) -> Any:
    if not nats_url:
        sys.exit("NATS_URL is not set: point it at the running system (make up prints it)")
    async def quiet(_: Exception) -> None:
        pass

    try:
        nc = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1, allow_reconnect=False,
                                error_cb=quiet)
    except (OSError, nats.errors.Error) as exc:
        sys.exit(f"cannot reach NATS at {nats_url}: {exc!r} (is `make up` running?)")
    try:
        return await fn(RpcClient(nc, timeout=get_settings().rpc_timeout_s))
    finally:
        await nc.close()


def cmd_up(args: argparse.Namespace) -> int:
    """Start servers, services and demo data; run until Ctrl-C; stop everything."""
    settings = get_settings()
    stack = Stack(settings, settings.data_dir)
    stopping = False

    def on_signal(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        nats_url, db_url = stack.start_servers()
        for name in SERVICES:
            stack.start_service(name)
        try:
            asyncio.run(wait_ready(nats_url, SERVICES))
        except NotReady as exc:
            print(f"{exc}: see {settings.data_dir}/logs/{exc.service}.log", file=sys.stderr, flush=True)
            return 1
        if not args.no_demo:
            counts = asyncio.run(_with_client(nats_url, demo.load_all))
            print("演示数据 demo data:", json.dumps(counts, ensure_ascii=False))
        _banner(stack, nats_url, db_url)
        while not stopping:
            time.sleep(0.5)
            for name in [] if stopping else stack.restart_dead():
                print(f"service {name} exited; restarted (see {settings.data_dir}/logs/{name}.log)", flush=True)
    finally:
        print("\nstopping ...", flush=True)
        stack.stop()
        print("stopped.")
    return 0


def _dashboard_url() -> str:
    from services.gateway.config import get_gateway_settings  # noqa: PLC0415

    return get_gateway_settings().url


def _banner(stack: Stack, nats_url: str, db_url: str) -> None:
    embedded = {type(s).__name__ for s in stack.servers}
    print(f"""
惠民实事监督平台 Huimin is running
  NATS        {nats_url}{'  (embedded, data in ' + str(stack.data_dir / 'nats') + ')' if 'EmbeddedNats' in embedded else ''}
  PostgreSQL  {db_url}{'  (embedded, data in ' + str(stack.data_dir / 'postgres') + ')' if 'EmbeddedPostgres' in embedded else ''}
  services    {', '.join(f'{n} (pid {p.pid})' for n, p in stack.children.items())}
  logs        {stack.data_dir / 'logs'}/<service>.log
  dashboard   {_dashboard_url()}  (API docs at /api/docs)

First admin of the dashboard, in another terminal:
  DATABASE_URL={db_url} .venv/bin/huimin create-admin admin

Try, in another terminal:
  NATS_URL={nats_url} .venv/bin/huimin query projects list '{{"year": 2026}}'
  NATS_URL={nats_url} .venv/bin/huimin health

Ctrl-C stops everything.""", flush=True)


def cmd_query(args: argparse.Namespace) -> int:
    """Ask a view a question and print the reply."""
    payload = json.loads(args.payload)
    reply = asyncio.run(_with_client(get_settings().nats_url,
                                     lambda c: c.request(query_subject(args.view, args.name), payload)))
    _print(reply)
    return 0 if reply.get("ok") else 1


def cmd_command(args: argparse.Namespace) -> int:
    """Send a command to a service and print the reply."""
    payload = json.loads(args.payload)
    reply = asyncio.run(_with_client(get_settings().nats_url, lambda c: c.request(
        command_subject(args.service, args.name), payload, actor=args.actor)))
    _print(reply)
    return 0 if reply.get("ok") else 1


def cmd_health(args: argparse.Namespace) -> int:
    """Print the readiness of every service; exit 1 if one is not ready."""
    async def ask(client: RpcClient) -> dict[str, Any]:
        return {name: await client.request(health_subject(name), {}, timeout=2) for name in args.services or SERVICES}

    replies = asyncio.run(_with_client(get_settings().nats_url, ask))
    _print(replies)
    return 0 if all(r.get("ready") for r in replies.values()) else 1


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Rebuild every read model from the event stream."""
    reply = asyncio.run(_with_client(get_settings().nats_url, lambda c: c.request(
        command_subject("projection", "rebuild"), {}, actor=args.actor, timeout=3600)))
    _print(reply)
    return 0 if reply.get("ok") else 1


def cmd_verify(args: argparse.Namespace) -> int:
    """Compare the event stores with JetStream and the read models with a rebuild; exit 1 on any difference."""
    from shared.verify import CHECKS, format_report, verify  # noqa: PLC0415 (imports every service)

    settings = get_settings()
    if not settings.nats_url or not settings.database_url:
        sys.exit("NATS_URL and DATABASE_URL must be set: point them at the running system (make up prints them)")
    unknown = set(args.only or []) - set(CHECKS)
    if unknown:
        sys.exit(f"unknown checks {sorted(unknown)}; choose from {', '.join(CHECKS)}")
    report = asyncio.run(verify(settings, settle_s=args.settle, checks=args.only or CHECKS))
    if args.json:
        _print(report.as_dict())
    else:
        print(format_report(report))
    return 0 if report.ok else 1


def cmd_nats_config(args: argparse.Namespace) -> int:
    """Write NATS accounts, users and credentials for the services and every registered department."""
    from pathlib import Path  # noqa: PLC0415

    from shared.ops import natsconfig  # noqa: PLC0415 (bcrypt only for this command)
    from shared.runtime.stack import SERVICES  # noqa: PLC0415

    codes: list[str] = []
    for path in args.departments or []:
        codes += natsconfig.read_department_file(Path(path))
    if args.from_database:
        dsn = get_settings().database_url
        if not dsn:
            sys.exit("--from-database needs DATABASE_URL (a role that can read the projects schema)")
        codes += asyncio.run(natsconfig.departments_from_database(dsn))
    services = args.services or sorted(set(SERVICES) | set(natsconfig.KNOWN_SERVICES))
    try:
        generated = natsconfig.write_config(Path(args.out), services, codes, bcrypt_cost=args.bcrypt_cost)
    except natsconfig.RegistryError as exc:
        sys.exit(str(exc))
    kinds = [p.kind for p in generated.parties]
    print(f"wrote {generated.auth_conf} ({kinds.count('service')} services, gateway, "
          f"{kinds.count('department')} departments, admin, sys)")
    print(f"  compose passwords: {generated.out_dir / 'services.env'} (copy into .env)")
    print(f"  department handouts: {generated.out_dir / 'departments'}/<code>.json")
    print("  install: copy auth.conf beside nats.conf and reload nats-server (docs/operations.md)")
    return 0


def cmd_republish(args: argparse.Namespace) -> int:
    """Publish a service's events again from its event store (after JetStream lost data)."""
    from shared.ops.republish import republish  # noqa: PLC0415

    settings = get_settings()
    if args.schema and len(args.services) > 1:
        sys.exit("--schema names the event store of one service only")
    for service in args.services:
        count = asyncio.run(republish(settings, service, schema=args.schema))
        print(f"{service}: {count} events re-published")
    return 0


def cmd_import_delegates(args: argparse.Namespace) -> int:
    """Import the office's delegate roster (CSV/XLSX) and print the row-level report."""
    from pathlib import Path  # noqa: PLC0415

    from services.delegates.roster_import import run  # noqa: PLC0415 (openpyxl only for this command)

    path = Path(args.file)
    if not path.is_file():
        sys.exit(f"no such file: {path}")
    return asyncio.run(_with_client(get_settings().nats_url,
                                    lambda c: run(c, path, reason=args.reason, actor=args.actor)))


def cmd_create_admin(args: argparse.Namespace) -> int:
    """Create a gateway user (the first admin, or any role); the password comes from stdin or a prompt."""
    import getpass  # noqa: PLC0415

    from services.gateway.admin import create_user  # noqa: PLC0415 (argon2 only for this command)
    from shared.errors import HuiminError  # noqa: PLC0415

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码 password: ")
        if getpass.getpass("再输一次 again: ") != password:
            sys.exit("the passwords differ")
    scope = {"dept_code": args.dept_code, "delegate_id": args.delegate_id, "group_id": args.group_id}
    try:
        user = asyncio.run(create_user(get_settings(), args.username, password, args.role, args.display_name or "",
                                       **scope))
    except HuiminError as exc:
        sys.exit(f"{exc.message} {exc.details or ''}".strip())
    print(f"created {user.role} {user.username}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of `huimin`."""
    p = argparse.ArgumentParser(prog="huimin", description="惠民实事监督平台 Huimin")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the whole system with demo data (Ctrl-C stops it)")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    up.set_defaults(fn=cmd_up)
    q = sub.add_parser("query", help="ask a view: huimin query projects list '{\"year\": 2026}'")
    q.add_argument("view")
    q.add_argument("name")
    q.add_argument("payload", nargs="?", default="{}")
    q.set_defaults(fn=cmd_query)
    c = sub.add_parser("command", help="send a command: huimin command projects register_voted_project '{...}'")
    c.add_argument("service")
    c.add_argument("name")
    c.add_argument("payload", nargs="?", default="{}")
    c.add_argument("--actor", default="cli")
    c.set_defaults(fn=cmd_command)
    h = sub.add_parser("health", help="readiness of the services (NATS and PostgreSQL connectivity)")
    h.add_argument("services", nargs="*")
    h.set_defaults(fn=cmd_health)
    r = sub.add_parser("rebuild", help="rebuild the read models from the event stream")
    r.add_argument("--actor", default="cli")
    r.set_defaults(fn=cmd_rebuild)
    bench_cli.add_parser(sub)
    v = sub.add_parser("verify", help="check the invariants: event stores vs JetStream, read models vs a rebuild")
    v.add_argument("--settle", type=float, default=10.0, help="seconds to wait for relays and consumers to catch up")
    v.add_argument("--only", nargs="*", metavar="CHECK", help="events, read_models, copies, ingest (default: all)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(fn=cmd_verify)
    nc = sub.add_parser("nats-config", help="NATS accounts, users and credentials from the department registry")
    nc.add_argument("--out", required=True, help="directory for auth.conf, passwords and handouts (keep it private)")
    nc.add_argument("--departments", nargs="*", metavar="FILE",
                    help="registry files: CSV with a `code` column (or codes in the first column), or JSON")
    nc.add_argument("--from-database", action="store_true",
                    help="also every DepartmentRegistered in the projects event store (DATABASE_URL)")
    nc.add_argument("--services", nargs="*", help="service names (default: every known and installed service)")
    nc.add_argument("--bcrypt-cost", type=int, default=11, help="bcrypt work factor of the stored hashes")
    nc.set_defaults(fn=cmd_nats_config)
    rp = sub.add_parser("republish", help="publish a service's events again from its event store (JetStream lost data)")
    rp.add_argument("services", nargs="+", help="write services, e.g. projects delegates")
    rp.add_argument("--schema", help="the event store's schema when it is not named after the service")
    rp.set_defaults(fn=cmd_republish)
    im = sub.add_parser("import-delegates", help="import the delegate roster (CSV/XLSX, see docs/delegates.md)")
    im.add_argument("file")
    im.add_argument("--reason", default="名册导入", help="recorded on delegates whose details change")
    im.add_argument("--actor", default="cli")
    im.set_defaults(fn=cmd_import_delegates)
    for command, role in (("create-admin", "admin"), ("create-user", None)):
        ca = sub.add_parser(command, help=f"create a dashboard user{' with the admin role (the first admin)' if role else ''}"
                                          " (needs DATABASE_URL)")
        ca.add_argument("username")
        if role:
            ca.set_defaults(role=role)
        else:
            ca.add_argument("--role", required=True, help="admin office leader committee group_leader delegate "
                                                          "department viewer")
        ca.add_argument("--display-name", default="")
        ca.add_argument("--dept-code", help="department users: the department they speak for")
        ca.add_argument("--delegate-id", help="delegates and group leaders: their delegate id")
        ca.add_argument("--group-id", help="group leaders: their group")
        ca.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        ca.set_defaults(fn=cmd_create_admin)
    from shared.cli_projects import add_subcommands  # noqa: PLC0415 (projects: report-progress, import-*)

    add_subcommands(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `huimin` console script."""
    args = parser().parse_args(argv)
    sys.exit(args.fn(args))


if __name__ == "__main__":
    main()
