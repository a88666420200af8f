"""NATS accounts, users and permissions of every party, generated from the department registry.

One account (HUIMIN, with JetStream) holds every user; each user may publish and subscribe only
on its own subjects (docs/operations.md, "NATS accounts and credentials"):
- a department publishes only `huimin.ingest.<own code>.>` and reads only
  `huimin.ingest.result.<own code>` (live, or through its own durable consumer on HUIMIN_INGEST);
- a service answers exactly the subjects it registers (commands, queries, health), publishes its
  own events and ingest results, and uses only its own durable consumers;
- the gateway only sends requests (commands, queries, health) and keeps its attachments bucket;
- `admin` (operators' CLI) may do anything in the account; `sys` is the system account.
Every party receives its replies on its own inbox prefix `_INBOX_<user>`.

The server keeps only bcrypt hashes; passwords are kept beside it in `passwords.json` (mode 0600)
so that running the command again (a new department) keeps everyone else's password.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
from pydantic import TypeAdapter, ValidationError

from shared.contracts.projects import DeptCode
from shared.subjects import (
    EVENTS_STREAM,
    INGEST_RESULT_PREFIX,
    INGEST_STREAM,
    command_subject,
    events_wildcard,
    health_subject,
    ingest_result_subject,
    ingest_subject,
    query_subject,
)

ACCOUNT = "HUIMIN"
SYSTEM_ACCOUNT = "SYS"
ADMIN_USER = "admin"
SYSTEM_USER = "sys"
GATEWAY = "gateway"
READ_SIDE = "projection"
# Every service of DESIGN.md §3; the ones under services/ are added to these.
KNOWN_SERVICES = ("projects", "delegates", "activities", "feedback", "projection", "gateway")
# `huimin.ingest.result.<dept>` lies inside `huimin.ingest.<code>.>` for code "result": never a department.
RESERVED_DEPT_CODES = frozenset({"result"})
# The gateway keeps attachments in this JetStream object store (HUIMIN_GATEWAY_ATTACHMENTS_BUCKET).
DEFAULT_ATTACHMENTS_BUCKET = os.environ.get("HUIMIN_GATEWAY_ATTACHMENTS_BUCKET", "huimin-attachments")

_dept_code = TypeAdapter(DeptCode)


class RegistryError(ValueError):
    """The department registry cannot be turned into NATS users."""


@dataclass(frozen=True)
class Permissions:
    """What one user may publish and subscribe to (None: anything in its account)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False  # may answer requests it received (services' RPC replies)

    def as_conf(self) -> dict[str, Any]:
        """The `permissions` block of nats-server's configuration."""
        conf: dict[str, Any] = {"publish": {"allow": list(self.publish)},
                                "subscribe": {"allow": list(self.subscribe)}}
        if self.allow_responses:
            conf["allow_responses"] = True
        return conf


@dataclass(frozen=True)
class Party:
    """A NATS user: a service, the gateway, a department, the operators or the system account."""

    user: str
    kind: str
    permissions: Permissions | None
    account: str = ACCOUNT
    extra: dict[str, Any] = field(default_factory=dict)  # handed to the party with its password

    @property
    def inbox_prefix(self) -> str:
        """The inbox prefix the party must connect with (its replies arrive there)."""
        return inbox_prefix(self.user)


def inbox_prefix(user: str) -> str:
    """Reply subjects of one user: `_INBOX_<user>` (set as the client's inbox prefix)."""
    return f"_INBOX_{user}"


def department_user(code: str) -> str:
    """The NATS user of a department."""
    return f"dept-{code}"


def department_durable(code: str) -> str:
    """The durable consumer a department may keep on its own results."""
    return f"result-{code}"


def _stream_management() -> list[str]:
    # ServiceRuntime.start declares both streams (shared/streams.py): read, create, bring in line.
    # Never DELETE or PURGE: only `admin` may destroy data.
    return [f"$JS.API.STREAM.{verb}.{stream}" for stream in (EVENTS_STREAM, INGEST_STREAM)
            for verb in ("INFO", "CREATE", "UPDATE")]


def durable_consumer(stream: str, durable: str) -> list[str]:
    """JetStream API subjects to create, inspect, replace and pull one durable consumer, and ack its messages."""
    api = "$JS.API.CONSUMER"
    return [
        f"{api}.INFO.{stream}.{durable}",
        f"{api}.DURABLE.CREATE.{stream}.{durable}",  # nats-py's call for durable_name without name
        f"{api}.CREATE.{stream}.{durable}",
        f"{api}.CREATE.{stream}.{durable}.>",  # the same with one filter subject in the API subject
        f"{api}.DELETE.{stream}.{durable}",  # a drifted config is replaced (shared/consumer.py)
        f"{api}.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
    ]


def answered_subjects(service: str) -> list[str] | None:
    """The subjects a service answers, read from its own wiring (built, not started); None if not installed here."""
    import importlib  # noqa: PLC0415 (ops tooling reads the services; they never read it)

    from shared.config import Settings  # noqa: PLC0415

    try:
        module = importlib.import_module(f"services.{service}.main")
    except ImportError:
        return None
    if not hasattr(module, "build"):
        return None
    built = module.build(Settings(nats_url="nats://127.0.0.1:4222", database_url="postgresql://127.0.0.1/unused"))
    runtime = built[0] if isinstance(built, tuple) else built
    return sorted(runtime.rpc.subjects)


def service_party(service: str, answers: Iterable[str] | None = None) -> Party:
    """A service: its commands, health and queries; its events, results and durables, or replays (read side).

    Commands and health lie in the service's own namespace, so a pattern grants them (new commands
    need no new configuration). Queries share `huimin.qry.<view>.<name>` with the projection's views:
    a write service gets exactly the query subjects it registers (`answers`, see answered_subjects).
    """
    publish = _stream_management()
    subscribe = [command_subject(service, ">"), health_subject(service)]
    if service == READ_SIDE:
        subscribe.append(query_subject("*", "*"))
    else:
        subscribe += [s for s in answers or [] if s.startswith(query_subject("*", "*").removesuffix("*.*"))]
    subscribe.append(f"{inbox_prefix(service)}.>")
    if service == READ_SIDE:
        publish += durable_consumer(EVENTS_STREAM, READ_SIDE)
        # A rebuild replays through short-lived consumers with generated names, filtered on events only.
        publish += [f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.*.{events_wildcard()}",
                    f"$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.*"]
    else:
        publish += [events_wildcard(service), f"{INGEST_RESULT_PREFIX}.*"]
        publish += durable_consumer(EVENTS_STREAM, f"{service}-copy")
        publish += durable_consumer(INGEST_STREAM, f"ingest-{service}")
    return Party(service, "service", Permissions(tuple(publish), tuple(subscribe), allow_responses=True))


def object_store(bucket: str) -> list[str]:
    """Publish subjects to keep files in one JetStream object-store bucket (stream OBJ_<bucket>)."""
    stream, api = f"OBJ_{bucket}", "$JS.API"
    return [
        f"$O.{bucket}.>",
        *(f"{api}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE", "PURGE")),
        f"{api}.STREAM.MSG.GET.{stream}", f"{api}.DIRECT.GET.{stream}", f"{api}.DIRECT.GET.{stream}.>",
        f"{api}.STREAM.NAMES",  # nats-py looks the bucket's stream up by subject before a read (names only)
        # Reads go through short-lived ordered consumers (flow control answered on $JS.FC).
        f"{api}.CONSUMER.*.{stream}", f"{api}.CONSUMER.*.{stream}.>", f"$JS.FC.{stream}.>",
    ]


def gateway_party(attachments_bucket: str = DEFAULT_ATTACHMENTS_BUCKET) -> Party:
    """The gateway: requests only (commands, queries, health), plus its attachments bucket and its own health."""
    publish = (command_subject("*", "*"), query_subject("*", "*"), health_subject("*"),
               *_stream_management(), *object_store(attachments_bucket))
    subscribe = (health_subject(GATEWAY), f"{inbox_prefix(GATEWAY)}.>")
    return Party(GATEWAY, "gateway", Permissions(publish, subscribe, allow_responses=True))


def department_party(code: str) -> Party:
    """A department: its own input and its own results, nothing else."""
    user, durable, results = department_user(code), department_durable(code), ingest_result_subject(code)
    api = "$JS.API.CONSUMER"
    publish = (
        ingest_subject(code, ">"),
        # Its own durable consumer on its own results (catch up after being offline); the server
        # checks that the filter in the request equals the one in the subject.
        f"{api}.CREATE.{INGEST_STREAM}.{durable}.{results}",
        f"{api}.INFO.{INGEST_STREAM}.{durable}",
        f"{api}.MSG.NEXT.{INGEST_STREAM}.{durable}",
        f"$JS.ACK.{INGEST_STREAM}.{durable}.>",
    )
    subscribe = (results, f"{inbox_prefix(user)}.>")
    extra = {"department": code, "publish_on": ingest_subject(code, "<kind>"), "results_on": results,
             "results_durable": durable, "stream": INGEST_STREAM}
    return Party(user, "department", Permissions(publish, subscribe), extra=extra)


def parties(services: Iterable[str], departments: Iterable[str], *,
            attachments_bucket: str = DEFAULT_ATTACHMENTS_BUCKET) -> list[Party]:
    """Every NATS user of a deployment."""
    out = [service_party(s, answered_subjects(s)) for s in sorted(set(services)) if s != GATEWAY]
    out.append(gateway_party(attachments_bucket))
    out += [department_party(c) for c in sorted(set(departments))]
    out.append(Party(ADMIN_USER, "admin", None))
    out.append(Party(SYSTEM_USER, "system", None, account=SYSTEM_ACCOUNT))
    return out


def check_department_codes(codes: Iterable[str]) -> list[str]:
    """The codes, validated like DeptCode and not reserved; a clear error names every bad one."""
    good, bad = [], []
    for code in codes:
        try:
            good.append(_dept_code.validate_python(code))
        except ValidationError:
            bad.append(f"{code!r}: 部门代码只能是 2-32 位小写字母、数字、_ 或 - / must match [a-z0-9_-]{{2,32}}")
            continue
        if code in RESERVED_DEPT_CODES:
            bad.append(f"{code!r}: 保留字，不能作为部门代码 / reserved word, cannot be a department code")
    if bad:
        raise RegistryError("部门名录有误 / invalid department registry:\n  " + "\n  ".join(bad))
    return sorted(set(good))


def read_department_file(path: Path) -> list[str]:
    """Department codes from a registry file: CSV with a `code` column (or codes in the first column), or JSON."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        items = data.get("departments", data) if isinstance(data, dict) else data
        return [str(i["code"] if isinstance(i, dict) else i).strip() for i in items]
    rows = [r for r in csv.reader(text.splitlines()) if r and r[0].strip() and not r[0].startswith("#")]
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if "code" in header:
        column = header.index("code")
        return [r[column].strip() for r in rows[1:] if len(r) > column]
    return [r[0].strip() for r in rows]


async def departments_from_database(dsn: str, schema: str = "projects") -> list[str]:
    """Codes of every DepartmentRegistered event in the projects service's event store."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f"SELECT DISTINCT data->>'code' AS code FROM {schema}.events "
                                "WHERE type = 'DepartmentRegistered' ORDER BY 1")
    finally:
        await conn.close()
    return [r["code"] for r in rows]


def hash_password(password: str, cost: int = 11) -> str:
    """A bcrypt hash nats-server accepts in place of the password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost, prefix=b"2a")).decode()


def new_password() -> str:
    """A random password safe inside a URL (services pass it in NATS_URL)."""
    return secrets.token_urlsafe(24)


def render_auth_conf(all_parties: list[Party], hashes: dict[str, str]) -> str:
    """The accounts and users block of nats-server's configuration (included by infra/nats/*.conf)."""
    accounts: dict[str, Any] = {ACCOUNT: {"jetstream": "enabled", "users": []}, SYSTEM_ACCOUNT: {"users": []}}
    for p in all_parties:
        user: dict[str, Any] = {"user": p.user, "password": hashes[p.user]}
        if p.permissions is not None:
            user["permissions"] = p.permissions.as_conf()
        accounts[p.account]["users"].append(user)
    # NATS configuration accepts JSON values; JSON strings are taken literally ($ included).
    return ("# Generated by `huimin nats-config`: do not edit, run the command again instead.\n"
            "# Users, permissions and bcrypt hashes of every party (docs/operations.md).\n"
            f"system_account: {json.dumps(SYSTEM_ACCOUNT)}\n"
            f"accounts: {json.dumps(accounts, indent=2)}\n")


def env_name(user: str) -> str:
    """The environment variable holding a party's password in compose's .env."""
    return "NATS_PASSWORD_" + user.upper().replace("-", "_")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


@dataclass
class GeneratedConfig:
    """What `write_config` produced."""

    out_dir: Path
    parties: list[Party]
    passwords: dict[str, str]

    @property
    def auth_conf(self) -> Path:
        """The file nats-server includes."""
        return self.out_dir / "auth.conf"

    def url(self, user: str, servers: str) -> str:
        """NATS_URL of a party: every server of `servers` (comma-separated host:port) with its credentials."""
        return ",".join(f"nats://{user}:{self.passwords[user]}@{hostport}" for hostport in servers.split(","))


def write_config(out_dir: Path, services: Iterable[str], departments: Iterable[str], *,
                 bcrypt_cost: int = 11, attachments_bucket: str = DEFAULT_ATTACHMENTS_BUCKET) -> GeneratedConfig:
    """Write auth.conf and every party's credentials into `out_dir`, keeping existing passwords."""
    out_dir.mkdir(parents=True, exist_ok=True)
    all_parties = parties(services, check_department_codes(departments), attachments_bucket=attachments_bucket)
    store = out_dir / "passwords.json"
    passwords: dict[str, str] = json.loads(store.read_text()) if store.exists() else {}
    passwords = {p.user: passwords.get(p.user) or new_password() for p in all_parties}
    hashes = {user: hash_password(pw, bcrypt_cost) for user, pw in passwords.items()}
    _write_private(store, json.dumps(passwords, indent=2, sort_keys=True) + "\n")
    _write_private(out_dir / "auth.conf", render_auth_conf(all_parties, hashes))
    env_lines = ["# NATS passwords for docker compose: copy these lines into .env"]
    env_lines += [f"{env_name(p.user)}={passwords[p.user]}" for p in all_parties
                  if p.kind in ("service", "gateway", "admin")]
    _write_private(out_dir / "services.env", "\n".join(env_lines) + "\n")
    for p in all_parties:
        if p.kind == "department":
            handout = {"user": p.user, "password": passwords[p.user], "inbox_prefix": p.inbox_prefix, **p.extra}
            _write_private(out_dir / "departments" / f"{p.extra['department']}.json",
                           json.dumps(handout, ensure_ascii=False, indent=2) + "\n")
    for stale in (out_dir / "departments").glob("*.json") if (out_dir / "departments").exists() else []:
        if department_user(stale.stem) not in passwords:
            stale.unlink()  # a department that left the registry loses its handout too
    return GeneratedConfig(out_dir, all_parties, passwords)
