"""The bench's CPU accounting: a process's own time, and the time of children that exit during the phase."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from shared.bench.cpu import CpuMeter, tree_cpu_seconds


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_own_cpu_time_is_counted_per_unit():
    meter = CpuMeter({"self": os.getpid(), "gone": None})
    meter.start()
    _burn(0.2)
    out = meter.stop(units=4, unit="command")
    assert 0.19 <= out["seconds"]["self"] < 5, out
    assert "gone" not in out["seconds"], "a process that is not running is left out, not counted as zero"
    assert out["ms_per_unit"]["self"] == round(1000 * out["seconds"]["self"] / 4, 3)
    assert out["unit"] == "command" and out["units"] == 4
    assert out["system_ms_per_unit"] == round(1000 * out["system_seconds"] / 4, 3)


def test_a_child_that_exits_during_the_phase_is_still_counted():
    # PostgreSQL backends come and go under the postmaster: their time must not vanish when they exit.
    meter = CpuMeter({"self": os.getpid()})
    meter.start()
    subprocess.run([sys.executable, "-c",
                    "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"],
                   check=True)
    out = meter.stop()
    assert out["seconds"]["self"] >= 0.29, out
    assert "ms_per_unit" not in out


def test_a_missing_process_has_no_time():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert tree_cpu_seconds(child.pid) is None


def test_the_load_generator_is_counted_without_its_children_and_out_of_the_total():
    # The bench's own children are the services and servers, which are counted under their own names.
    meter = CpuMeter({"bench": os.getpid()}, load_generator="bench")
    meter.start()
    subprocess.run([sys.executable, "-c",
                    "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"],
                   check=True)
    out = meter.stop(units=1)
    assert out["seconds"]["bench"] < 0.4 and out["system_seconds"] == 0 and out["system_ms_per_unit"] == 0
