"""The benchmark harness still runs end to end at its smallest scale (it reports; it asserts no timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The paths that exist for sure; the others may be "not available yet", never broken.
MUST_MEASURE = ["baselines", "dataset", "relay", "rebuild", "commands"]


def test_bench_runs_every_phase_and_writes_its_results(tmp_path: Path) -> None:
    result_file, report_file = tmp_path / "perf.json", tmp_path / "PERFORMANCE.md"
    proc = subprocess.run(
        [sys.executable, "-m", "shared.cli", "bench", "--scale", "0.002", "--runs", "1", "--fast-unsafe",
         "--commands", "10", "--ingest-seconds", "1", "--lag-seconds", "1", "--query-samples", "2",
         "--progress", "off", "--json", str(result_file), "--markdown", str(report_file),
         "--only", "baselines,dataset,relay,rebuild,commands,ingest,queries,queries_http,memory"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(result_file.read_text())
    for phase in MUST_MEASURE:
        assert result[phase]["available"] is True, (phase, result[phase])
    for phase in ("ingest", "queries", "queries_http", "memory"):
        assert "error" not in result[phase], (phase, result[phase])
    assert result["meta"]["phase_errors"] == []
    assert result["dataset"]["events"] > 1000 and not result["dataset"]["left_out"], result["dataset"]
    assert result["relay"]["events"] == result["dataset"]["events"], "every seeded event went through the relay"
    assert result["rebuild"]["events"] >= result["dataset"]["events"]
    for key in ("pg_copy", "pg_single_commit", "js_async_publish", "js_pull_consume", "nats_request_reply",
                "pg_round_trip"):
        assert key in result["baselines"]
    assert {"clients_1", "clients_32"} <= result["commands"].keys()
    for clients in ("clients_1", "clients_32"):
        error = result["commands"][clients]["runs"][0]["first_error"]
        assert not error or error["code"] != "validation", f"the harness's command no longer fits its contract: {error}"
    assert "projects" in result["memory"]["services"]
    assert {t["target"].split(" (")[0] for t in result["targets"]} >= {"rebuild ≥ 40% of raw COPY"}
    assert "| target | value | bound | met |" in report_file.read_text()
