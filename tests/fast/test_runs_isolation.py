"""Tasks run in supervised R hosts: time limits, crashes, memory, retries (no R needed here:
the hosts run Python functions; the slow tier's stress test runs real brms/lme4 fits).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pybrms.errors import EngineError, SpecError
from pybrms.runs import engine as run_engine
from pybrms.runs.host import Host, TaskCrashed, TaskMemoryExceeded, TaskTimeout
from pybrms.runs.limits import (
    FIRST_TIMEOUT,
    MIN_TIMEOUT,
    Limits,
    TimeoutPolicy,
    parse_memory,
)
from pybrms.runs.progress import Progress
from pybrms.runs.task import Task
from tests.support import faults


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path / "logs", memory_limit=2**30)
    yield h
    h.close()


def test_a_host_runs_calls_and_streams_console_text(host):
    first = host.call(faults.pid)
    assert first != os.getpid() and host.call(faults.pid) == first  # one process, kept
    lines: list[str] = []
    assert host.call(faults.talk, 4, echo=lines.append) == 4
    assert [ln.split("[")[1][:4] for ln in lines] == ["25%]", "50%]", "75%]", "100%"]


def test_a_hung_task_is_killed_at_its_limit_and_the_host_restarts(host):
    first = host.call(faults.pid)
    t0 = time.monotonic()
    with pytest.raises(TaskTimeout, match=rf"timed out after 1.5 s on .+:{first}$"):
        host.call(faults.sleep_for, 600, timeout=1.5)
    assert time.monotonic() - t0 < 15
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the hung process is gone
    assert host.call(faults.pid) != first  # a fresh host takes the next task


def test_a_crash_is_reported_with_its_signal(host):
    pid = host.call(faults.pid)
    with pytest.raises(TaskCrashed, match=rf"R host .+:{pid} died after .* \(killed by SIGSEGV\)"):
        host.call(faults.crash)
    assert host.call(faults.pid) != pid


def test_an_exception_comes_back_as_itself_with_the_host_traceback(host):
    with pytest.raises(EngineError) as info:
        host.call(faults.raise_engine_error, "boom")
    assert str(info.value) == "boom"
    assert any("raised in the R host" in n and "raise_engine_error" in n
               for n in getattr(info.value, "__notes__", []))
    assert host.call(faults.sleep_for, 0) == "slept"  # the host survives a task's exception


def test_memory_above_the_limit_kills_the_host(tmp_path):
    h = Host(tmp_path, memory_limit=300 * 2**20)
    try:
        with pytest.raises(TaskMemoryExceeded, match=r"in use, above the limit of 0.3 GiB"):
            h.call(faults.hog, 600 * 2**20, 20)
        assert not h.alive()
    finally:
        h.close()


def test_a_host_whose_parent_dies_kills_itself(tmp_path):
    code = ("import sys, time\nfrom pybrms.runs.host import Host\nfrom tests.support import faults\n"
            "h = Host()\nprint(h.call(faults.pid), flush=True)\nh.call(faults.sleep_for, 600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    child = int(parent.stdout.readline())
    os.kill(child, 0)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(40):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"host {child} outlived its parent")


def test_limits_are_checked_and_sizes_read():
    assert parse_memory("8GiB") == 8 * 2**30 and parse_memory("500MB") == 500 * 10**6
    assert parse_memory("1.5g") == int(1.5 * 2**30) and parse_memory(1024) == 1024
    for bad in ("lots", "-1G", "8 parsecs"):
        with pytest.raises(SpecError):
            parse_memory(bad)
    with pytest.raises(SpecError, match="positive number of seconds"):
        Limits(timeout=0)
    with pytest.raises(SpecError, match="retries"):
        Limits(retries=-1)


def _task(name, engine="lme4", cost=1.0, **payload):
    return Task(name=name, engine=engine, key=f"k-{name}", work=faults.work,
                payload=payload, cost=cost)


def test_a_derived_limit_follows_the_pace_of_finished_tasks():
    policy = TimeoutPolicy(Limits())
    a, b = _task("a", cost=100.0), _task("b", cost=1000.0)
    assert policy.for_task(a) == FIRST_TIMEOUT  # nothing has finished yet
    policy.observe(a, 30.0)  # 0.3 s per unit of cost
    assert policy.for_task(b) == pytest.approx(10 * 0.3 * 1000)  # 3000 s
    assert policy.for_task(a) == MIN_TIMEOUT  # 300 s would be under the floor
    assert policy.for_task(_task("c", engine="brms")) == FIRST_TIMEOUT  # other engine
    assert TimeoutPolicy(Limits(timeout=42)).for_task(b) == 42


def test_a_run_isolates_each_fault_and_a_rerun_finishes_them(tmp_path):
    marker = tmp_path / "faults-on"
    marker.write_text("")
    m = str(marker)
    tasks = [_task("ok1", value=1), _task("hang", fault="hang", marker=m),
             _task("ok2", value=2), _task("crash", fault="crash", marker=m),
             _task("raise", fault="raise", marker=m), _task("ok3", value=3)]
    folder = tmp_path / "out" / "cells"
    limits = Limits(timeout=3, retries=1)
    progress = Progress(tasks, enabled=False)
    outcome = run_engine.run(tasks, folder, progress=progress, keep_going=True, limits=limits)
    assert sorted(outcome.fitted) == ["ok1", "ok2", "ok3"]
    assert [outcome.records[n]["value"] for n in ("ok1", "ok2", "ok3")] == [1, 2, 3]
    failed = outcome.failed
    assert set(failed) == {"hang", "crash", "raise"}
    assert failed["hang"].startswith("TaskTimeout: timed out after 3 s on ")
    assert "gave up after 2 attempts" in failed["hang"]  # retried once, then recorded
    assert "killed by SIGSEGV" in failed["crash"] and "gave up after 2 attempts" in failed["crash"]
    assert failed["raise"] == "EngineError: a failure made by the test"  # not retried
    assert not (folder / "hang.json").exists()
    assert list((tmp_path / "out" / "logs").glob("host-*.log"))
    marker.unlink()  # the faults are gone: a rerun fits only what failed
    again = run_engine.run(tasks, folder, keep_going=True, limits=limits)
    assert sorted(again.resumed) == ["ok1", "ok2", "ok3"]
    assert sorted(again.fitted) == ["crash", "hang", "raise"] and not again.failed
    with pytest.raises(TaskTimeout):  # without keep_going the first failure stops the run
        marker.write_text("")
        run_engine.run([_task("hang2", fault="hang", marker=m)], folder,
                       limits=Limits(timeout=1, retries=0))
