"""`huimin nats-config` enforced by a real nats-server: departments speak only for themselves, services and
the gateway work with exactly the rights they are given, each PostgreSQL role sees only its schema."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js.api import ConsumerConfig

from services.gateway.attachments import AttachmentStore
from services.gateway.config import GatewaySettings
from services.gateway.core import Gateway
from shared.config import Settings
from shared.ops.natsconfig import (
    ADMIN_USER,
    GATEWAY,
    RegistryError,
    department_durable,
    department_user,
    inbox_prefix,
    write_config,
)
from shared.runtime.stack import SERVICES
from shared.service import nats_servers
from shared.streams import ensure_streams
from shared.subjects import EVENTS_STREAM, INGEST_STREAM, command_subject, ingest_result_subject, ingest_subject
from tests.conftest import eventually
from tests.integration.ops_support import (
    INFRA,
    ROOT,
    build_service,
    database_roles_can_read,
    listed_codes,
    prepare_year,
    run_roles_init,
    start_nats,
    voted_project,
)

DEPARTMENTS = ["jhzjj", "jhslj"]
WRITE_AND_READ_SERVICES = [s for s in SERVICES if s != GATEWAY]


@pytest.fixture
def secured(tmp_path: Path):
    """A nats-server running infra/nats/nats.conf with a freshly generated auth.conf."""
    generated = write_config(tmp_path / "auth", SERVICES, DEPARTMENTS, bcrypt_cost=4)
    node = start_nats(INFRA / "nats" / "nats.conf", tmp_path / "nats", auth_conf=generated.auth_conf)
    yield generated, node
    node.stop()


class Party:
    """A connection as one generated user, recording the permission errors the server sends it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: nats.NATS | None = None

    async def connect(self, generated, node, user: str) -> Party:  # type: ignore[no-untyped-def]
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc).lower())

        self.nc = await nats.connect(generated.url(user, node.hostport), inbox_prefix=inbox_prefix(user),
                                     error_cb=on_error, max_reconnect_attempts=1)
        return self

    async def refused(self, subject: str) -> bool:
        return any("permissions violation" in e and subject.lower() in e for e in self.errors)


async def as_party(generated, node, user: str) -> Party:  # type: ignore[no-untyped-def]
    return await Party().connect(generated, node, user)


async def stream_count(js, stream: str) -> int:  # type: ignore[no-untyped-def]
    return (await js.stream_info(stream)).state.messages


async def test_a_department_publishes_only_its_own_input(secured):
    generated, node = secured
    admin = await as_party(generated, node, ADMIN_USER)
    dept = await as_party(generated, node, department_user("jhzjj"))
    try:
        await ensure_streams(admin.nc.jetstream(), Settings())
        djs, ajs = dept.nc.jetstream(), admin.nc.jetstream()

        ack = await djs.publish(ingest_subject("jhzjj", "progress"), b'{"message_id": "m-1"}')
        assert ack.stream == INGEST_STREAM

        before = {s: await stream_count(ajs, s) for s in (EVENTS_STREAM, INGEST_STREAM)}
        forbidden = [
            ingest_subject("jhslj", "progress"),                      # another department's input
            ingest_result_subject("jhzjj"),                           # a result, even its own
            command_subject("projects", "register_voted_project"),    # a command
            "huimin.evt.projects.project-2026-01.ProjectVoted",       # the event stream
        ]
        for subject in forbidden:
            with pytest.raises(nats.errors.TimeoutError):
                await djs.publish(subject, b'{"message_id": "m-2"}', timeout=0.5)
            await eventually(lambda s=subject: dept.refused(s), timeout=3)
        # Its own JetStream API rights do not reach the streams themselves.
        with pytest.raises(nats.errors.TimeoutError):
            await dept.nc.jetstream(timeout=0.5).purge_stream(INGEST_STREAM)
        assert {s: await stream_count(ajs, s) for s in (EVENTS_STREAM, INGEST_STREAM)} == before
        assert node.violations(), "the server logs every refused publish"
    finally:
        await dept.nc.close()
        await admin.nc.close()


async def test_a_department_reads_only_its_own_results(secured):
    generated, node = secured
    admin = await as_party(generated, node, ADMIN_USER)
    dept = await as_party(generated, node, department_user("jhzjj"))
    try:
        ajs, djs = admin.nc.jetstream(), dept.nc.jetstream()
        await ensure_streams(ajs, Settings())
        live = await dept.nc.subscribe(ingest_result_subject("jhzjj"))
        await dept.nc.subscribe(ingest_result_subject("jhslj"))
        await dept.nc.flush()
        await eventually(lambda: dept.refused(ingest_result_subject("jhslj")), timeout=3)

        await ajs.publish(ingest_result_subject("jhslj"), b'{"for": "jhslj"}')
        await ajs.publish(ingest_result_subject("jhzjj"), b'{"for": "jhzjj"}')
        assert json.loads((await live.next_msg(timeout=2)).data) == {"for": "jhzjj"}
        with pytest.raises(nats.errors.TimeoutError):
            await live.next_msg(timeout=0.3)

        # Catching up through its own durable consumer: its results only.
        own = await djs.pull_subscribe(ingest_result_subject("jhzjj"), durable=department_durable("jhzjj"),
                                       stream=INGEST_STREAM)
        assert [json.loads(m.data) for m in await own.fetch(10, timeout=1)] == [{"for": "jhzjj"}]
        # Another department's results through a consumer: refused by subject, or by the server's filter check.
        with pytest.raises(nats.errors.TimeoutError):
            await djs.add_consumer(INGEST_STREAM, ConsumerConfig(
                name="result-x", durable_name="result-x", filter_subject=ingest_result_subject("jhslj")), timeout=0.5)
        with pytest.raises(nats.js.errors.BadRequestError):
            await djs._jsm._api_request(  # the allowed API subject, a body asking for another's results
                f"$JS.API.CONSUMER.CREATE.{INGEST_STREAM}.{department_durable('jhzjj')}.{ingest_result_subject('jhzjj')}",
                json.dumps({"stream_name": INGEST_STREAM, "config": {
                    "name": department_durable("jhzjj"), "durable_name": department_durable("jhzjj"),
                    "filter_subject": ingest_result_subject("jhslj"), "ack_policy": "explicit"}}).encode(),
                timeout=1)
    finally:
        await dept.nc.close()
        await admin.nc.close()


async def test_services_and_gateway_work_with_their_own_rights_and_roles(secured, database_url):
    """Every service runs under its NATS user and PostgreSQL role; a department's input flows to its result."""
    generated, node = secured
    role_urls = run_roles_init(database_url, SERVICES)

    def settings_of(service: str) -> Settings:
        return Settings(nats_url=generated.url(service, node.hostport), database_url=role_urls[service],
                        log_level="warning", relay_poll_interval_s=0.2, projection_fetch_timeout_s=0.2,
                        projection_nak_delay_s=0.2, projection_gap_delay_s=0.3)

    runtimes = [build_service(name, settings_of(name)) for name in WRITE_AND_READ_SERVICES]
    web = Gateway(settings_of(GATEWAY), GatewaySettings())
    gateway = dept = None
    try:
        for rt in [*runtimes, web]:
            await rt.start()
        client = web.rpc
        await prepare_year(client)
        await client.call(command_subject("projects", "register_voted_project"), voted_project("01"))
        assert await eventually(lambda: listed_codes(client)) == {"01"}
        assert (await eventually(web.readiness))["ready"]
        # The gateway keeps attachments in its object-store bucket.
        files = AttachmentStore(web.nc.jetstream(), GatewaySettings().attachments_bucket)
        photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
        stored = await files.put(photo, "现场照片.png", GatewaySettings())
        assert (await files.get(stored.key))[0] == photo

        dept = await as_party(generated, node, department_user("jhzjj"))
        results = await dept.nc.subscribe(ingest_result_subject("jhzjj"))
        await dept.nc.jetstream().publish(ingest_subject("jhzjj", "progress"),
                                          json.dumps({"message_id": "r-1", "year": 2026, "code": "01",
                                                      "as_of": "2026-05-01", "percent": 10}).encode())
        result = json.loads((await results.next_msg(timeout=10)).data)
        assert result["message_id"] == "r-1" and result["status"] in {"accepted", "rejected"}

        # Each service can still not speak for another one, nor for a department.
        gateway = await as_party(generated, node, GATEWAY)
        projects = await as_party(generated, node, "projects")
        await projects.nc.publish("huimin.evt.delegates.delegate-1.DelegateRegistered", b"{}")
        await projects.nc.publish(ingest_subject("jhzjj", "progress"), b"{}")
        await gateway.nc.publish("huimin.evt.projects.project-2026-01.ProjectVoted", b"{}")
        await projects.nc.flush()
        await gateway.nc.flush()
        await eventually(lambda: projects.refused("huimin.evt.delegates"), timeout=3)
        await eventually(lambda: gateway.refused("huimin.evt.projects"), timeout=3)
        await projects.nc.close()

        # Only the deliberate attempts above were refused: the services needed nothing they lack.
        await asyncio.sleep(0.5)
        unexpected = [v for v in node.violations()
                      if not ('"projects"' in v or "user:projects" in v or "user:gateway" in v)]
        assert unexpected == []
        assert [v for v in node.violations() if "user:projects" in v or "user:gateway" in v], "the refusals are logged"
    finally:
        for party in (gateway, dept):
            if party and party.nc:
                await party.nc.close()
        for rt in [web, *reversed(runtimes)]:
            await rt.stop()

    # And in PostgreSQL each role reaches only its own schema; the projection reads nothing else.
    assert await database_roles_can_read(role_urls["projects"], "projects.events")
    assert not await database_roles_can_read(role_urls["projection"], "projects.events")
    assert not await database_roles_can_read(role_urls["projects"], "projection.schema_migrations")
    for other in (s for s in WRITE_AND_READ_SERVICES if s not in ("projects", "projection")):
        assert not await database_roles_can_read(role_urls[other], "projects.events")


def test_the_registry_rejects_codes_that_would_break_isolation(tmp_path):
    with pytest.raises(RegistryError) as err:
        write_config(tmp_path, ["projects"], ["jhzjj", "result", "Bad.Code", "x"], bcrypt_cost=4)
    message = str(err.value)
    assert "'result'" in message and "'Bad.Code'" in message and "'x'" in message and "jhzjj" not in message


def test_running_it_again_keeps_passwords_and_removes_departments_that_left(tmp_path):
    first = write_config(tmp_path, ["projects"], ["jhzjj", "jhslj"], bcrypt_cost=4)
    second = write_config(tmp_path, ["projects"], ["jhzjj", "jhjyj"], bcrypt_cost=4)
    assert second.passwords["projects"] == first.passwords["projects"]
    assert second.passwords[department_user("jhzjj")] == first.passwords[department_user("jhzjj")]
    assert sorted(p.name for p in (tmp_path / "departments").iterdir()) == ["jhjyj.json", "jhzjj.json"]
    handout = json.loads((tmp_path / "departments" / "jhzjj.json").read_text())
    assert handout["publish_on"] == "huimin.ingest.jhzjj.<kind>" and handout["inbox_prefix"] == "_INBOX_dept-jhzjj"
    assert (tmp_path / "passwords.json").stat().st_mode & 0o077 == 0


def test_the_cli_reads_the_registry_file(tmp_path):
    registry = tmp_path / "departments.csv"
    registry.write_text("code,name\njhzjj,景洪市住房和城乡建设局\njhslj,景洪市水利局\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", "from shared.cli import main; main()", "nats-config",
                           "--out", str(tmp_path / "out"), "--departments", str(registry), "--bcrypt-cost", "4"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "2 departments" in done.stdout
    auth = (tmp_path / "out" / "auth.conf").read_text()
    assert '"dept-jhzjj"' in auth and '"dept-jhslj"' in auth and '"projection"' in auth
    assert all(password not in auth for password in json.loads((tmp_path / "out" / "passwords.json").read_text())
               .values()), "the server configuration holds hashes only"
    bad = tmp_path / "bad.csv"
    bad.write_text("code\nresult\n")
    refused = subprocess.run([sys.executable, "-c", "from shared.cli import main; main()", "nats-config",
                              "--out", str(tmp_path / "out2"), "--departments", str(bad)],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert refused.returncode != 0 and "保留字" in refused.stderr and "reserved" in refused.stderr


def test_credentials_in_nats_url_also_reach_the_nodes_a_cluster_announces():
    assert nats_servers("nats://projects:p%2Fw@n1:4222,nats://projects:p%2Fw@n2:4222") == {
        "servers": ["nats://n1:4222", "nats://n2:4222"], "user": "projects", "password": "p/w"}
    assert nats_servers("nats://127.0.0.1:4222") == {"servers": ["nats://127.0.0.1:4222"]}
