"""R hosts: every task runs in a supervised child process, so a hung or crashed R costs only it.

A :class:`Host` is one child Python process (``python -m pybrms.runs.host_main``) that runs tasks on
its **main thread**, where embedded R is at home: R never runs on a secondary thread of a Dask
worker or of the caller. The host starts R once and keeps it (loaded packages, compiled Stan
programs) from one task to the next; the parent sends each task down a pipe and waits for its
result with a deadline, watching the host's memory (its own and its children's, such as
rstan's parallel chains) and whether it is alive:

* past the task's time limit the host's whole process group is killed: :class:`TaskTimeout`
  ("timed out after 900 s on host:pid");
* an R crash (segfault, abort) ends the host: :class:`TaskCrashed`, with the signal and the
  last lines of the host's log;
* memory above the limit: the host is killed, :class:`TaskMemoryExceeded`;
* an exception in the task comes back as the same exception (or :class:`TaskRaised` when it
  cannot cross the pipe), with the host's traceback attached.

The host's standard output and error (R's own crash messages, rstan's workers) go to a log
file. A host whose parent dies kills itself and its children (a watchdog thread watches the
parent's pid), so a Dask worker killed mid-task leaves no orphan R behind.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

#: how often the parent checks a running host's memory and the watchdog its parent (s)
POLL = 0.5


class TaskFailure(Exception):
    """A task that could not finish; ``reason`` says why, in words for the run's record."""

    retryable = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TaskTimeout(TaskFailure):
    """The task ran past its time limit; its host was killed."""

    retryable = True


class TaskCrashed(TaskFailure):
    """The host process died while running the task (R crashed, or it was killed)."""

    retryable = True


class TaskMemoryExceeded(TaskFailure):
    """The host used more memory than its limit; it was killed."""

    retryable = True


class TaskRaised(TaskFailure):
    """The task raised an exception that could not be sent back as itself."""


def _host_name(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def _write(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!Q", len(data)) + data)
    stream.flush()


def _read_exact(fd: int, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return bytes(out)


def _read(fd: int) -> Any:
    (n,) = struct.unpack("!Q", _read_exact(fd, 8))
    return pickle.loads(_read_exact(fd, n))


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (0 once it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


class Host:
    """A supervised child process that runs tasks with R on its main thread.

    Parameters
    ----------
    log_dir : path, optional
        Where the host's log (``host-<pid>.log``: its stdout and stderr) goes; default a
        temporary folder.
    memory_limit : int, optional
        Bytes the host and its children may use; None for no limit.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None,
                 memory_limit: int | None = None) -> None:
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.memory_limit = memory_limit
        self.proc: subprocess.Popen | None = None
        self._results: int | None = None
        self.log_path: Path | None = None
        self.tasks_run = 0

    @property
    def name(self) -> str:
        """``host:pid`` of the running host (its R process)."""
        return _host_name(self.proc.pid) if self.proc is not None else "(not started)"

    def alive(self) -> bool:
        """Whether the host process is running."""
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the host process (R starts inside it at its first task that needs R)."""
        if self.alive():
            return
        self.close()
        read_fd, write_fd = os.pipe()
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / f"host-{os.getpid()}-{time.time_ns()}.log", "ab")  # noqa: SIM115
        else:
            log = open(os.devnull, "ab")  # noqa: SIM115
        env = dict(os.environ)
        # the parent's import path, so every module the parent can import (a task's work
        # function, a plugin) imports in the host too
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        env["PYTHONUNBUFFERED"] = "1"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pybrms.runs.host_main", str(write_fd),
                 str(os.getpid())],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
                start_new_session=True, env=env, close_fds=True)
        finally:
            os.close(write_fd)
            log.close()
        self._results = read_fd
        if self.log_dir is not None:
            final = self.log_dir / f"host-{self.proc.pid}.log"
            with contextlib.suppress(OSError):
                os.replace(log.name, final)
            self.log_path = final

    def kill(self) -> None:
        """Kill the host and everything it started (its process group)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)

    def close(self) -> None:
        """Stop the host (politely, then by force) and release its pipes."""
        if self.proc is not None:
            if self.proc.poll() is None and self.proc.stdin is not None:
                with contextlib.suppress(OSError, ValueError):
                    _write(self.proc.stdin, ("exit",))
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=2)  # an idle host has nothing to lose
            self.kill()
            with contextlib.suppress(OSError, ValueError):
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
        if self._results is not None:
            with contextlib.suppress(OSError):
                os.close(self._results)
        self.proc, self._results = None, None

    def _log_tail(self, lines: int = 6) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        with contextlib.suppress(OSError):
            text = self.log_path.read_bytes()[-4000:].decode(errors="replace")
            tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
            return " | ".join(tail)
        return ""

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None,
             echo: Callable[[str], None] | None = None, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in the host; return its value.

        ``fn`` must be importable by name (a module-level function). With ``echo``, ``fn`` is
        also given ``echo=`` (a function sending console text back, which ``echo`` receives
        here as it arrives).

        Raises
        ------
        TaskTimeout, TaskCrashed, TaskMemoryExceeded
            The host was killed or died; it is restarted at the next call.
        Exception
            What ``fn`` raised (or :class:`TaskRaised` when it could not be sent back).
        """
        self.start()
        assert self.proc is not None and self.proc.stdin is not None and self._results
        name = self.name
        try:
            _write(self.proc.stdin, ("call", fn, args, kwargs, echo is not None))
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise TaskCrashed(f"the R host {name} could not take the task ({exc})") from exc
        self.tasks_run += 1
        started = time.monotonic()
        deadline = None if timeout is None else started + float(timeout)
        peak = 0
        while True:
            wait = POLL if deadline is None else max(0.0, min(POLL, deadline - time.monotonic()))
            ready, _, _ = select.select([self._results], [], [], wait)
            if ready:
                try:
                    message = _read(self._results)
                except (EOFError, OSError):
                    raise self._died(name, started) from None
                kind = message[0]
                if kind == "console":
                    if echo is not None:
                        echo(message[1])
                    continue
                if kind == "result":
                    return message[1]
                if kind == "error":
                    raise self._remote_error(message, name)
                continue
            if self.proc.poll() is not None:
                raise self._died(name, started)
            if deadline is not None and time.monotonic() >= deadline:
                self.kill()
                raise TaskTimeout(f"timed out after {timeout:g} s on {name}")
            if self.memory_limit is not None:
                rss = tree_rss(self.proc.pid)
                peak = max(peak, rss)
                if rss > self.memory_limit:
                    self.kill()
                    raise TaskMemoryExceeded(
                        f"killed for memory: {_gib(rss)} in use, above the limit of "
                        f"{_gib(self.memory_limit)}, on {name}")

    def _died(self, name: str, started: float) -> TaskCrashed:
        assert self.proc is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        code = self.proc.returncode
        how = (f"killed by {_signal_name(-code)}" if code is not None and code < 0
               else f"exited with status {code}")
        tail = self._log_tail()
        self.kill()
        return TaskCrashed(f"the R host {name} died after {time.monotonic() - started:.0f} s "
                           f"({how})" + (f"; its last output: {tail}" if tail else ""))

    @staticmethod
    def _remote_error(message: tuple, name: str) -> BaseException:
        _kind, payload, type_name, text, tb = message
        exc: BaseException | None = None
        if payload is not None:
            with contextlib.suppress(Exception):
                exc = pickle.loads(payload)
        if not isinstance(exc, BaseException):
            exc = TaskRaised(f"{type_name}: {text}")
        exc.add_note(f"raised in the R host {name}:\n{tb}")
        return exc


# --------------------------------------------------------------------------- the child side


def _watch_parent(parent: int) -> None:
    """Kill this host and its children when its parent is gone (a killed Dask worker)."""
    while True:
        time.sleep(POLL)
        if os.getppid() != parent:
            with contextlib.suppress(OSError):
                os.killpg(0, signal.SIGKILL)
            os._exit(1)


def _serve(results: BinaryIO) -> None:
    lock = threading.Lock()

    def send(obj: Any) -> None:
        with lock:
            _write(results, obj)

    def console(text: str) -> None:
        send(("console", text))

    stdin = sys.stdin.buffer
    while True:
        try:
            (n,) = struct.unpack("!Q", stdin.read(8))
            message = pickle.loads(stdin.read(n))
        except (struct.error, EOFError, pickle.UnpicklingError):
            return
        if message[0] == "exit":
            return
        _kind, fn, args, kwargs, wants_echo = message
        if wants_echo:
            kwargs = {**kwargs, "echo": console}
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            try:
                payload = pickle.dumps(exc)
                pickle.loads(payload)
            except Exception:  # noqa: BLE001 - not picklable: sent as text
                payload = None
            send(("error", payload, type(exc).__name__, str(exc), traceback.format_exc()))
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                return
            continue
        send(("result", value))


def main(argv: list[str] | None = None) -> int:
    """The host's main loop: ``python -m pybrms.runs.host_main RESULT_FD PARENT_PID``."""
    argv = sys.argv[1:] if argv is None else argv
    fd, parent = int(argv[0]), int(argv[1])
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="pybrms-host-watchdog").start()
    with os.fdopen(fd, "wb") as results:
        _serve(results)
    return 0
