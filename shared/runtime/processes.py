"""Child processes that die with their parent, so Ctrl-C or a crash leaves no orphans."""

from __future__ import annotations

import ctypes
import gc
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        # Runs in the child after any uid change (the kernel clears PDEATHSIG on credential changes).
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return preexec


def spawn(
    args: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
    parent_death_signal: int = signal.SIGTERM,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child process that is signalled when this process dies."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (owned by the child)
    try:
        return subprocess.Popen(
            [str(a) for a in args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            user=user,
            cwd=cwd,
            preexec_fn=_die_with_parent(parent_death_signal),
            # Own session: a terminal's Ctrl-C reaches only the parent, which stops children in order.
            start_new_session=True,
        )
    finally:
        if log_path:
            out.close()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal a child and wait for it; kill it if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, what: str, log: Path | None) -> None:
    """Block until something accepts connections on the port, or fail with the child's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not start on port {port} (exit code {proc.poll()}):\n{tail}")


def unprivileged_user(name: str) -> str | None:
    """When running as root, a system user to run servers as (PostgreSQL refuses root); else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run([useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    return name


def hand_over(path: Path, user: str | None) -> None:
    """Give a directory to the user a server runs as, and let it reach the directory."""
    if user is None:
        return
    info = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, info.pw_uid, info.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), info.pw_uid, info.pw_gid)
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            os.chmod(parent, mode | 0o011)


def freeze_startup_heap() -> None:
    """Move every object alive now out of the cyclic garbage collector's reach, for good.

    Call once a server process has started: its modules, contracts and settings live as long as it
    does, yet every full collection walked them again (15 ms in the projection process, enough to
    show in a query's p99). Objects made later are collected as usual.
    """
    gc.collect()
    gc.freeze()
