"""R's console: captured while a call runs (rpy2's callbacks restored after), child processes'
standard output routed to the same place, R's warnings and errors read from the text.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import sys
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def capture_console(echo: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Capture everything R writes to its console while the block runs.

    Parameters
    ----------
    echo : callable, optional
        Called with each piece of text as R writes it (e.g. to show progress live).

    Yields
    ------
    list of str
        The captured pieces, in order (stdout and stderr interleaved, as R wrote them).

    """
    from rpy2.rinterface_lib import callbacks

    pieces: list[str] = []
    write = _collect(pieces, echo)
    saved = (callbacks.consolewrite_print, callbacks.consolewrite_warnerror, callbacks.showmessage)
    callbacks.consolewrite_print = write
    callbacks.consolewrite_warnerror = write
    callbacks.showmessage = write
    try:
        yield pieces
    finally:
        (
            callbacks.consolewrite_print,
            callbacks.consolewrite_warnerror,
            callbacks.showmessage,
        ) = saved


@contextlib.contextmanager
def capture_child_stdout(write: Callable[[str], None]) -> Iterator[None]:
    """Send what child processes write to standard output through ``write``, line by line.

    rstan runs parallel chains (``cores > 1``) in worker processes that inherit this process's
    file descriptor 1 and print their progress there, out of reach of R's console callbacks.
    While the block runs, descriptor 1 is a pipe read by a thread that hands each line to
    ``write``; Python's own ``sys.stdout`` keeps writing to the real standard output. On POSIX
    only (elsewhere the block runs unchanged).

    Parameters
    ----------
    write : callable
        Called with each line (with its newline), from the reading thread.

    """
    if os.name != "posix":
        yield
        return
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(1)
    rd, wr = os.pipe()
    os.dup2(wr, 1)
    os.close(wr)
    real_stdout = sys.stdout
    try:
        redirect_python = real_stdout.fileno() == 1
    except (AttributeError, ValueError, OSError):  # pytest's capture, a StringIO...
        redirect_python = False
    if redirect_python:
        sys.stdout = open(saved, "w", closefd=False, buffering=1,  # noqa: SIM115 - closed below
                          encoding=getattr(real_stdout, "encoding", None) or "utf-8",
                          errors="replace")
    stop = threading.Event()

    def pump() -> None:
        pending = b""
        try:
            while True:
                ready, _, _ = select.select([rd], [], [], 0.2)
                if ready:
                    chunk = os.read(rd, 65536)
                    if not chunk:
                        break
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        write(line.decode(errors="replace") + "\n")
                elif stop.is_set():
                    break
        except OSError:  # the read end was closed under a worker that outlived the block
            return
        if pending:
            write(pending.decode(errors="replace"))

    reader = threading.Thread(target=pump, name="pybrms-child-stdout", daemon=True)
    reader.start()
    try:
        yield
    finally:
        os.dup2(saved, 1)  # closes this process's copy of the pipe's write end
        stop.set()
        reader.join(timeout=10)
        if not reader.is_alive():
            os.close(rd)
        if redirect_python:
            sys.stdout.close()
            sys.stdout = real_stdout
        os.close(saved)


_WARNING = re.compile(r"^Warning(?: in [^:]*)?:\s*", re.M)


def _serialised(fn: Callable[[str], None]) -> Callable[[str], None]:
    lock = threading.Lock()

    def wrapped(text: str) -> None:
        with lock:
            fn(text)

    return wrapped


def _collect(out: list[str], echo: Callable[[str], None] | None) -> Callable[[str], None]:
    """A writer that keeps each piece of console text in ``out`` and passes it to ``echo``."""

    def write(text: str) -> None:
        out.append(text)
        if echo is not None:
            echo(text)

    return write


def r_warnings(console: str) -> list[str]:
    """The warnings in captured console text (R prints them at once: ``options(warn = 1)``)."""
    starts = [m for m in _WARNING.finditer(console)]
    out = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(console)
        text = console[m.end() : end].strip()
        # stop at the next progress/sampler line so only the warning's own text is kept
        text = text.split("\nChain ")[0].split("\nSAMPLING FOR")[0].strip()
        if text:
            out.append(text)
    return out


def _r_error_message(exc: Exception, out: list[str]) -> str:
    text = str(exc).strip()
    console = "".join(out)
    # R prints "Error in f(x) : message" on the console; prefer that full text when present
    idx = console.rfind("Error")
    if idx >= 0:
        text = console[idx:].strip()
    if text.startswith("Error in "):
        text = text.split(":", 1)[-1].strip() if ":" in text else text
    elif text.startswith("Error: "):
        text = text[len("Error: ") :]
    return text.strip()


def write_console(text: str) -> None:
    """Write R console text to stderr (the default live echo)."""
    sys.stderr.write(text)
    sys.stderr.flush()
