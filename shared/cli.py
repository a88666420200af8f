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
from shared.rpc import RpcClient
from shared.runtime.stack import SERVICES, Stack, wait_ready
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
        asyncio.run(wait_ready(nats_url, SERVICES))
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


def _banner(stack: Stack, nats_url: str, db_url: str) -> None:
    embedded = {type(s).__name__ for s in stack.servers}
    print(f"""
惠民实事监督平台 Huimin is running
  NATS        {nats_url}{'  (embedded, data in ' + str(stack.data_dir / 'nats') + ')' if 'EmbeddedNats' in embedded else ''}
  PostgreSQL  {db_url}{'  (embedded, data in ' + str(stack.data_dir / 'postgres') + ')' if 'EmbeddedPostgres' in embedded else ''}
  services    {', '.join(f'{n} (pid {p.pid})' for n, p in stack.children.items())}
  logs        {stack.data_dir / 'logs'}/<service>.log

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
    return p


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `huimin` console script."""
    args = parser().parse_args(argv)
    sys.exit(args.fn(args))


if __name__ == "__main__":
    main()
