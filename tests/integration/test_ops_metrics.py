"""The ops endpoint of a service: /readyz for the container healthcheck, /metrics covering commands, events
appended and relayed, relay and projection lag, and department input accepted or rejected."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

from shared.rpc import RpcClient
from shared.runtime.processes import free_port
from shared.subjects import command_subject, ingest_result_subject, ingest_subject
from tests.conftest import eventually
from tests.integration.ops_support import ROOT, build_service, listed_codes, prepare_year, voted_project


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent)."""
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


async def test_metrics_and_readiness_of_a_service(settings, nc):
    port = free_port()
    projects = build_service("projects", settings.model_copy(update={"metrics_port": port}))
    projection = build_service("projection", settings)
    base = f"http://127.0.0.1:{port}"
    loop = asyncio.get_running_loop()
    await projects.start()
    await projection.start()
    try:
        status, body = await loop.run_in_executor(None, fetch, f"{base}/readyz")
        assert status == 200 and json.loads(body)["ready"] is True
        healthcheck = await asyncio.create_subprocess_exec(sys.executable, "-m", "shared.ops.healthcheck",
                                                           f"{base}/readyz", cwd=ROOT)
        assert await healthcheck.wait() == 0

        client = RpcClient(nc)
        await prepare_year(client)
        await client.call(command_subject("projects", "register_voted_project"), voted_project("m1"))
        refused = await client.request(command_subject("projects", "register_voted_project"), {"year": 1})
        assert refused["error"]["code"] == "validation"
        await eventually(lambda: _listed(client, "m1"))

        results = await nc.subscribe(ingest_result_subject("jhzjj"))
        await nc.jetstream().publish(ingest_subject("jhzjj", "progress"), b'{"message_id": "bad-1"}')
        assert json.loads((await results.next_msg(timeout=10)).data)["status"] == "rejected"

        _, metrics = await loop.run_in_executor(None, fetch, f"{base}/metrics")
        subject = command_subject("projects", "register_voted_project")
        assert sample(metrics, "huimin_requests_total", kind="command", subject=subject, outcome="ok") >= 1
        assert sample(metrics, "huimin_requests_total", kind="command", subject=subject, outcome="validation") >= 1
        assert sample(metrics, "huimin_request_duration_seconds_count", kind="command", subject=subject) >= 2
        assert sample(metrics, "huimin_events_appended_total", type="ProjectVoted") >= 1
        assert sample(metrics, "huimin_events_relayed_total") >= 3
        assert "huimin_relay_lag_events 0.0" in metrics
        # One process here serves both services: the projection's consumer shows up too.
        assert re.search(r'huimin_consumer_lag_events\{durable="projection"\} \d', metrics)
        assert sample(metrics, "huimin_events_consumed_total", durable="projection", outcome="applied") >= 3
        assert sample(metrics, "huimin_ingest_messages_total", kind="progress", status="rejected") >= 1
    finally:
        await projection.stop()
        await projects.stop()
    # Stopped: the healthcheck says so.
    done = subprocess.run([sys.executable, "-m", "shared.ops.healthcheck", f"{base}/readyz"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "not ready" in done.stderr


async def _listed(client: RpcClient, code: str) -> bool:
    return code in await listed_codes(client)
