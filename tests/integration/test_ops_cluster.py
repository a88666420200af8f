"""infra/cluster: three nats-servers on loopback, streams at 3 replicas; one node is killed in the middle of a
load of commands, and every acknowledged command's event still reaches the read models."""

from __future__ import annotations

import asyncio

import nats
import pytest

from shared.ops.natsconfig import ADMIN_USER, inbox_prefix, write_config
from shared.rpc import RpcClient
from shared.runtime.processes import free_port
from shared.service import nats_servers
from shared.subjects import EVENTS_STREAM, INGEST_STREAM, command_subject
from tests.conftest import eventually
from tests.integration.ops_support import (
    INFRA,
    build_service,
    listed_codes,
    prepare_year,
    start_nats,
    voted_project,
    wait_cluster_ready,
)

NODES = 3
COMMANDS = 60
KILL_AFTER = 20


async def register(client: RpcClient, code: str) -> bool:
    """Send a command as a client would: retry while the system answers `unavailable`; True once acknowledged."""
    for attempt in range(6):
        reply = await client.request(command_subject("projects", "register_voted_project"), voted_project(code))
        if reply.get("ok"):
            return True
        code_ = reply["error"]["code"]
        if code_ == "conflict" and attempt:  # an earlier attempt was stored, its answer lost: acknowledged now
            return True
        if code_ != "unavailable":
            raise AssertionError(reply)
        await asyncio.sleep(0.5)
    return False


@pytest.fixture
def cluster(tmp_path):
    """Three nodes running infra/cluster/nats.conf (ports and routes from the command line)."""
    generated = write_config(tmp_path / "auth", ["projects", "projection"], [], bcrypt_cost=4)
    cluster_ports = [free_port() for _ in range(NODES)]
    routes = ",".join(f"nats://127.0.0.1:{p}" for p in cluster_ports)
    nodes = []
    try:
        for i, port in enumerate(cluster_ports, start=1):
            nodes.append(start_nats(INFRA / "cluster" / "nats.conf", tmp_path / f"nats-{i}",
                                    auth_conf=generated.auth_conf,
                                    args=["--name", f"nats-{i}", "--cluster", f"nats://127.0.0.1:{port}",
                                          "--routes", routes]))
        yield generated, nodes
    finally:
        for node in nodes:
            if node.proc.poll() is None:
                node.stop()


async def test_killing_a_node_loses_no_acknowledged_event(cluster, settings):
    generated, nodes = cluster
    servers = ",".join(n.hostport for n in nodes)
    await wait_cluster_ready(generated.url(ADMIN_USER, servers).split(","), NODES)

    def settings_of(service: str):  # type: ignore[no-untyped-def]
        return settings.model_copy(update={"nats_url": generated.url(service, servers), "stream_replicas": NODES,
                                           "relay_puback_timeout_s": 2.0, "rpc_timeout_s": 4.0})

    runtimes = [build_service(s, settings_of(s)) for s in ("projects", "projection")]
    admin = await nats.connect(**nats_servers(generated.url(ADMIN_USER, servers)),
                               inbox_prefix=inbox_prefix(ADMIN_USER), max_reconnect_attempts=-1,
                               reconnect_time_wait=0.2)
    try:
        for rt in runtimes:
            await rt.start()
        js = admin.jetstream()
        for stream in (EVENTS_STREAM, INGEST_STREAM):
            assert (await js.stream_info(stream)).config.num_replicas == NODES
        client = RpcClient(admin, timeout=4.0)
        await prepare_year(client)

        acknowledged: list[str] = []
        killed = None
        for batch_start in range(0, COMMANDS, 10):
            if batch_start == KILL_AFTER:
                leader = (await js.stream_info(EVENTS_STREAM)).cluster.leader
                killed = next(n for i, n in enumerate(nodes, start=1) if f"nats-{i}" == leader)
                killed.kill()  # the node leading the event stream, mid-load, without a clean shutdown
                acknowledged_before_kill = len(acknowledged)
            codes = [f"c{n:03d}" for n in range(batch_start, batch_start + 10)]
            outcomes = await asyncio.gather(*(register(client, c) for c in codes))
            acknowledged += [c for c, ok in zip(codes, outcomes, strict=True) if ok]
            await asyncio.sleep(0.2)  # a load spread over seconds, as users send it
        assert killed is not None
        assert len(acknowledged) > acknowledged_before_kill, "the cluster kept accepting commands"

        async def all_in_read_model() -> bool:
            return set(acknowledged) <= await listed_codes(client)

        await eventually(all_in_read_model, timeout=20, interval=0.2)
        info = await js.stream_info(EVENTS_STREAM)
        assert info.cluster.leader != killed.workdir.name and info.config.num_replicas == NODES
    finally:
        await admin.close()
        for rt in reversed(runtimes):
            await rt.stop()
