"""What the broker benchmarks share: the stack they start, the load generator, the tables.

Placement (the issue's rule): OpenBao and this process (the load generator, and the OIDC issuer
thread) run on core 0, the broker on core 1, for the reference runs too, so a ratio says whether
the broker keeps up with OpenBao rather than how the two share a CPU. The script pins itself
first; OpenBao, started from it, inherits core 0; the broker is started under ``taskset -c 1``.

Every process started here is stopped by ``Stack.stop`` (also on errors); every load is bounded
by a request count and a duration; everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import jwt
import yaml
from cryptography.hazmat.primitives import serialization

from demo.issuer import Issuer, SigningKey
from demo.openbao import DevServer

REPO = Path(__file__).resolve().parent.parent
LOADGEN_CORE = 0
BROKER_CORE = 1
ROLE = "sluice"
READ_POLICY = "sluice-bench-read"
AUDIENCE = "sluice"
SUBJECT_PREFIX = "system:serviceaccount:bench:"


def sluice_cmd() -> list[str]:
    beside = Path(sys.executable).parent / "sluice"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "sluice_cli"]


def pin_self(core: int) -> None:
    """Pin this process (and every child it starts from now on) to one core."""
    os.sched_setaffinity(0, {core})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(rest.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (utime + stime from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """CPU used by the broker, OpenBao, this process and everything else between two marks:
    other work on the machine (a test run, a build) shows up as ``others``."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start = self._sample()
        self._t0 = time.perf_counter()

    def _sample(self) -> dict[str, float]:
        out = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        out["loadgen"] = time.process_time()
        out["machine"] = machine_busy_s()
        return out

    def percent(self) -> dict[str, float]:
        """Per-name busy % of one core since construction (``others`` = machine − the rest)."""
        end, elapsed = self._sample(), time.perf_counter() - self._t0
        used = {k: 100 * (end[k] - self._start[k]) / elapsed for k in end}
        used["others"] = max(0.0, used.pop("machine") - sum(used.values()))
        return used


# --- workload identity tokens -----------------------------------------------------------------
_signer: dict[str, Any] = {}


def _init_signer(pem: bytes, kid: str, alg: str, iss: str, aud: str) -> None:
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))  # minting may use every core
    _signer.update(
        key=serialization.load_pem_private_key(pem, password=None),
        kid=kid,
        alg=alg,
        iss=iss,
        aud=aud,
    )


def _mint_range(start: int, stop: int, ttl_s: int, subjects: int) -> list[str]:
    now = int(time.time())
    return [
        jwt.encode(
            {
                "iss": _signer["iss"],
                "sub": f"{SUBJECT_PREFIX}w{i % subjects if subjects else i}",
                "aud": _signer["aud"],
                "iat": now,
                "nbf": now,
                "exp": now + ttl_s,
                "jti": secrets.token_hex(16),
            },
            _signer["key"],
            algorithm=_signer["alg"],
            headers={"kid": _signer["kid"]},
        )
        for i in range(start, stop)
    ]


def mint_many(
    issuer: Issuer, count: int, ttl_s: int = 1800, first: int = 0, subjects: int = 0
) -> list[str]:
    """``count`` fresh RS256 workload JWTs, each with its own ``jti``; subject ``w<i>`` or, with
    ``subjects``, ``w<i % subjects>``. Minted in a process pool before any timed part: a
    2048-bit RSA signature costs ~2.4 ms here."""
    key = issuer.keys[0]
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    workers = os.cpu_count() or 1
    chunk = max(1, -(-count // (workers * 4)))
    bounds = [(s, min(s + chunk, first + count)) for s in range(first, first + count, chunk)]
    with ProcessPoolExecutor(
        workers,
        initializer=_init_signer,
        initargs=(pem, key.kid, key.alg, issuer.url, issuer.audience),
    ) as pool:
        futures = [pool.submit(_mint_range, a, b, ttl_s, subjects) for a, b in bounds]
        return [tok for f in futures for tok in f.result()]


# --- the stack: OpenBao, issuer, broker -------------------------------------------------------
@dataclass
class Stack:
    """A fresh OpenBao dev server, a local OIDC issuer and a real ``sluice broker serve``."""

    work: Path
    rule_ttl_s: int = 1800
    orphan_tokens: bool = False  # token role `orphan`: session tokens not children of the broker's
    broker_extra: dict[str, Any] = field(default_factory=dict)
    bao: DevServer = field(default_factory=DevServer)
    issuer: Issuer = field(default_factory=lambda: Issuer([SigningKey.rsa()], audience=AUDIENCE))
    broker_token: str = ""
    broker: subprocess.Popen[bytes] | None = None
    broker_url: str = ""
    broker_log: Path | None = None

    def start(self) -> Self:
        self.bao.start()
        self.bao.put_policy(READ_POLICY, 'path "secret/data/bench/*" { capabilities = ["read"] }')
        self.bao.kv_put("bench/db", {"password": "bench-" + secrets.token_hex(8)})
        self.broker_token = self.bao.provision_broker(
            role=ROLE, policy_glob="sluice-*", orphan=self.orphan_tokens
        )
        self.issuer.start()
        return self

    def broker_config(self, port: int) -> dict[str, Any]:
        config: dict[str, Any] = {
            "listen": {"host": "127.0.0.1", "port": port},
            "vault": {
                "addr": self.bao.addr,
                "token_file": str(self.work / "broker-token"),
                "token_role": ROLE,
            },
            "store": {"sqlite_path": str(self.work / "sessions.db")},
            "issuers": [{"issuer": self.issuer.url, "audiences": [AUDIENCE]}],
            # As a production broker runs: every decision in the audit log (written off the
            # loop, no fsync: the default), the limiter on but set above what is measured.
            "audit": {"path": str(self.work / "audit.jsonl")},
            "rate_limits": {
                "subject": {"rate_per_s": 100_000, "burst": 100_000},
                "issuer": {"rate_per_s": 100_000, "burst": 100_000},
            },
            "rules": [
                {
                    "name": "bench",
                    "issuer": self.issuer.url,
                    "match": {"sub": SUBJECT_PREFIX + "*"},
                    "policies": [READ_POLICY],
                    "ttl": f"{self.rule_ttl_s}s",
                }
            ],
        }
        for key, value in self.broker_extra.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return config

    def start_broker(self, log_level: str = "INFO") -> str:
        token_file = self.work / "broker-token"
        if not token_file.exists():  # a restarted broker reads the same 0400 file
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(fd, "w") as out:
                out.write(self.broker_token)
        port = free_port()
        config = self.work / f"broker-{port}.yaml"
        config.write_text(yaml.safe_dump(self.broker_config(port), sort_keys=False))
        self.broker_log = self.work / f"broker-{port}.log"
        argv = ["taskset", "-c", str(BROKER_CORE), *sluice_cmd()]
        argv += ["broker", "serve", "--config", str(config), "--log-level", log_level]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        with self.broker_log.open("wb") as sink:
            self.broker = subprocess.Popen(
                argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )
        self.broker_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.broker.poll() is not None:
                raise RuntimeError(
                    f"broker exited at start:\n{self.broker_log.read_text()[-2000:]}"
                )
            if _healthy(self.broker_url):
                return self.broker_url
            time.sleep(0.05)
        raise RuntimeError("broker not healthy within 30 s")

    @property
    def broker_pid(self) -> int:
        assert self.broker is not None
        return self.broker.pid

    def stop_broker(self) -> int | None:
        if self.broker is None:
            return None
        if self.broker.poll() is None:
            self.broker.send_signal(signal.SIGTERM)
            try:
                self.broker.wait(15)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait(5)
        return self.broker.returncode

    def stop(self) -> None:
        self.stop_broker()
        self.issuer.stop()
        self.bao.stop()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def raw_create_body(session: int, ttl_s: int, issuer: str) -> dict[str, Any]:
    """What the broker sends to ``auth/token/create/<role>`` for one session (broker/vault.py)."""
    return {
        "policies": [READ_POLICY],
        "ttl": f"{ttl_s}s",
        "explicit_max_ttl": f"{ttl_s}s",
        "no_default_policy": True,
        "renewable": False,
        "num_uses": 0,
        "meta": {
            "sluice_session": "ses_" + secrets.token_urlsafe(16),
            "sluice_store": "st_" + "0" * 22,  # the store's id: the same on every token
            "subject": f"{SUBJECT_PREFIX}w{session}",
            "issuer": issuer,
            "rule": "bench",
        },
        "display_name": "sluice-bench",
    }


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy``) samples the broker; idle time is left out."""
    spy = Path(sys.executable).parent / "py-spy"
    argv = [
        str(spy),
        "record",
        "-p",
        str(pid),
        "-o",
        str(out),
        "--format",
        "raw",
        "-r",
        "200",
        "--gil",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the first timed request
    return proc


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --- one benchmark run: options, work dir, untimed minting, teardown --------------------------
def add_run_options(parser: argparse.ArgumentParser, *, profile_help: str) -> None:
    """The options every broker benchmark takes: the broker's log level, keep, profile."""
    parser.add_argument("--log-level", default="INFO", help="the broker's --log-level")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (broker logs)")
    parser.add_argument("--profile", type=Path, help=profile_help)


def new_work_dir() -> Path:
    # Under /tmp: the stack's unix sockets must stay within sun_path's 108 bytes.
    return Path(tempfile.mkdtemp(prefix="sluice-bench-", dir="/tmp"))


def mint_untimed(issuer: Issuer, count: int, ttl_s: int, subjects: int = 0) -> list[str]:
    """``mint_many``, saying how long it took: minting is set-up, outside every timed part."""
    t0 = time.perf_counter()
    jwts = mint_many(issuer, count, ttl_s=ttl_s, subjects=subjects)
    print(f"minted {len(jwts)} RS256 workload JWTs in {time.perf_counter() - t0:.1f}s (untimed)")
    return jwts


def tear_down(
    stack: Stack, work: Path, *, keep: bool, profiler: subprocess.Popen[bytes] | None
) -> None:
    """End a run, on success or error: the profiler first (it samples the broker), then every
    process of the stack, then the work dir unless asked to keep it."""
    if profiler is not None:
        stop_profiler(profiler)
    stack.stop()
    if keep:
        print(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


# --- load generator ---------------------------------------------------------------------------
@dataclass
class Level:
    """One measured run: ``count`` requests by ``concurrency`` workers."""

    concurrency: int
    latencies: list[float]
    elapsed_s: float
    errors: dict[int, int]

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile ``q`` (0–100) of the successful requests, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index] * 1000


Call = Callable[[int], Awaitable[int]]  # request number -> HTTP status


async def run_level(
    call: Call, concurrency: int, count: int, max_s: float, first: int = 0
) -> Level:
    """Issue at most ``count`` calls (numbered from ``first``) with ``concurrency`` workers,
    stopping early after ``max_s`` seconds. Only 2xx answers count as done; others are tallied."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    next_i = first
    end = first + count
    deadline = time.perf_counter() + max_s

    async def worker() -> None:
        nonlocal next_i
        while next_i < end and time.perf_counter() < deadline:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                status = await call(i)
            except Exception as exc:  # noqa: BLE001 - a load generator tallies, never stops
                errors[-1] = errors.get(-1, 0) + 1
                if errors[-1] == 1:
                    print(f"  request failed: {type(exc).__name__}", file=sys.stderr)
                continue
            if 200 <= status < 300:
                latencies.append(time.perf_counter() - t0)
            else:
                errors[status] = errors.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Level(concurrency, latencies, time.perf_counter() - started, errors)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (it prints readably and pastes into BENCHMARKS.md as is)."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def machine_notes() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    bao = subprocess.run(
        [_bao_version_binary(), "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (
        f"{os.cpu_count()} cores ({cpu}); Python {sys.version.split()[0]}; {bao}; "
        f"OpenBao + load generator on core {LOADGEN_CORE}, broker on core {BROKER_CORE}; "
        f"load average at start {load}"
    )


def _bao_version_binary() -> str:
    from demo.openbao import bao_binary

    return bao_binary()
