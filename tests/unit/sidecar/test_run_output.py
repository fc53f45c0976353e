"""`sluice run`'s output guard on real pipes and processes (no server): what the command
prints comes out redacted, in order, per stream, promptly and in bounded memory."""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanners.engine import Engine
from sidecar.output import OutputGuard
from sidecar.redaction import engine_with
from sidecar.run import exit_code

# A format-less value, as an accessor or a custom-id token is: only exact matching finds it.
VALUE = "q8Zr2LmXw9TtYk3VbN7cPf4H"
# An AWS access key id pair in the shape the provider rules recognise (not the docs example).
AWS_LINE = "aws_access_key_id=AKIA" + "Q3EGRTDMOBWJ5XZK"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return engine_with([("a test value", VALUE)])


class Captured:
    def __init__(self, tmp: Path) -> None:
        self.paths = (tmp / "out", tmp / "err")
        self.fds = (
            os.open(self.paths[0], os.O_WRONLY | os.O_CREAT, 0o600),
            os.open(self.paths[1], os.O_WRONLY | os.O_CREAT, 0o600),
        )

    def close(self) -> tuple[str, str]:
        for fd in self.fds:
            os.close(fd)
        out, err = (p.read_bytes().decode("utf-8", "surrogateescape") for p in self.paths)
        return out, err


def run_guarded(
    engine: Engine, code: str, tmp: Path, mode: str = "redact", grace_s: float = 1.0
) -> tuple[str, str, OutputGuard, int]:
    captured = Captured(tmp)
    guard = OutputGuard(engine, mode, out_fds=captured.fds, grace_s=grace_s)
    out_w, err_w = guard.child_fds
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=out_w, stderr=err_w)
    guard.release_child_fds()
    exited = threading.Event()
    pump = threading.Thread(target=guard.run, args=(exited,))
    pump.start()
    code_ = proc.wait(30)
    exited.set()
    pump.join(30)
    assert not pump.is_alive()
    out, err = captured.close()
    return out, err, guard, code_


LEAKS = f"""
import base64, json, sys, urllib.parse
v = {VALUE!r}
for i in range(1, 4):
    print("out", i, flush=True)
    print("err", i, file=sys.stderr, flush=True)
print("raw", v)
print(json.dumps({{"k": v}}))
print("b64", base64.b64encode(b"user:" + v.encode()).decode())
print({AWS_LINE!r}, file=sys.stderr)
sys.exit(4)
"""


def test_each_stream_is_redacted_on_its_own_and_in_order(engine: Engine, tmp_path: Path) -> None:
    """stdout and stderr stay apart and ordered; every form of the value and a provider
    secret are masked; the exit code is the command's."""
    out, err, _, code = run_guarded(engine, LEAKS, tmp_path)
    assert code == 4
    assert out.splitlines()[:3] == ["out 1", "out 2", "out 3"]
    assert err.splitlines()[:3] == ["err 1", "err 2", "err 3"]
    assert VALUE not in out + err
    assert base64.b64encode(b"user:" + VALUE.encode()).decode() not in out
    assert "raw [REDACTED:known-value]" in out
    assert '{"k": "[REDACTED:known-value]"}' in out
    assert "AKIAQ3EGRTDMOBWJ5XZK" not in err and "[REDACTED:" in err.splitlines()[3]


def test_a_line_is_forwarded_while_the_command_still_runs(engine: Engine, tmp_path: Path) -> None:
    """Low latency: a complete line reaches our output before the command exits."""
    release = tmp_path / "release"
    read_fd, write_fd = os.pipe()
    guard = OutputGuard(engine, out_fds=(write_fd, write_fd))
    code = f"import os, time\nprint('ready', flush=True)\nwhile not os.path.exists({str(release)!r}): time.sleep(0.02)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=guard.child_fds[0])
    guard.release_child_fds()
    exited = threading.Event()
    pump = threading.Thread(target=guard.run, args=(exited,))
    pump.start()
    try:
        ready, _, _ = select.select([read_fd], [], [], 10)
        assert ready and os.read(read_fd, 100) == b"ready\n"
        assert proc.poll() is None  # still running
    finally:
        release.touch()
        proc.wait(10)
        exited.set()
        pump.join(10)
        os.close(read_fd)
        os.close(write_fd)


def test_a_background_child_holding_the_pipe_does_not_hang_the_guard(
    engine: Engine, tmp_path: Path
) -> None:
    """After the command exits, a pipe kept open by its background child is given up once
    quiet; what was printed before still comes out."""
    code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print(child.pid, file=sys.stderr, flush=True)\n"
        "print('parent done', flush=True)\n"
    )
    started = time.monotonic()
    out, err, _, rc = run_guarded(engine, code, tmp_path, grace_s=0.3)
    os.kill(int(err), signal.SIGKILL)  # the background child: ours to stop
    assert rc == 0 and out == "parent done\n"
    assert time.monotonic() - started < 10


def test_undecodable_bytes_pass_through_unchanged(engine: Engine, tmp_path: Path) -> None:
    """Latin-1 and binary noise come out byte for byte; only the secret changes."""
    code = (
        "import sys\n"
        f"sys.stdout.buffer.write(b'caf\\xe9 \\xff\\xfe ok\\n' + b'v=' + {VALUE!r}.encode() + b'\\n')"
    )
    out, _, _, _ = run_guarded(engine, code, tmp_path)
    assert (
        out.encode("utf-8", "surrogateescape") == b"caf\xe9 \xff\xfe ok\nv=[REDACTED:known-value]\n"
    )


def test_block_mode_withholds_and_report_mode_names_findings_without_values(
    engine: Engine, tmp_path: Path
) -> None:
    """block: the secret's line is replaced and counted; report: passed through, and a JSON
    finding (stream, line, rule) goes to stderr without the value."""
    code = f"print('fine')\nprint('v', {VALUE!r})\nprint('fine again')"
    out, _, guard, _ = run_guarded(engine, code, tmp_path, mode="block")
    assert guard.withheld_lines == 1
    assert out.splitlines()[0] == "fine" and out.splitlines()[2] == "fine again"
    assert VALUE not in out and "[WITHHELD:known-value]" in out
    (tmp_path / "r").mkdir()
    out, err, guard, _ = run_guarded(engine, code, tmp_path / "r", mode="report")
    assert VALUE in out and VALUE not in err
    record = json.loads(err.strip().removeprefix("sluice: finding "))
    assert (record["file"], record["line"], record["rule"]) == ("stdout", 2, "known-value")


BIG = """
import os, resource, subprocess, sys, threading
from sidecar.output import OutputGuard
from sidecar.redaction import engine_with
guard = OutputGuard(engine_with([("v", {value!r})]), out_fds=(os.open(os.devnull, os.O_WRONLY),) * 2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
writer = "import sys\\nline = b'2026-11-24 INFO GET /api/items 200 12ms user=alice ' * 3 + b'\\\\n'\\n" \\
    "for _ in range({mb} * 1024 * 1024 // len(line) // 64): sys.stdout.buffer.write(line * 64)\\n"
proc = subprocess.Popen([sys.executable, "-c", writer], stdout=guard.child_fds[0])
guard.release_child_fds()
done = threading.Event()
pump = threading.Thread(target=guard.run, args=(done,))
pump.start()
proc.wait()
done.set()
pump.join()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_tens_of_megabytes_of_output_do_not_grow_memory() -> None:
    """32 MB through the guard raise its peak RSS by far less than the output's size."""
    script = BIG.format(value=VALUE, mb=32)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=True
    )
    grown_mb = int(done.stdout)
    assert grown_mb < 16, f"peak RSS grew by {grown_mb} MB"


@pytest.mark.parametrize(("returncode", "expected"), [(0, 0), (5, 5), (-15, 143), (-9, 137)])
def test_exit_code_reports_signals_like_a_shell(returncode: int, expected: int) -> None:
    """A command killed by signal N makes `sluice run` exit 128 + N."""
    assert exit_code(returncode) == expected


def test_values_too_short_to_mask_are_skipped_with_their_label(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A value like `admin` is not registered (it would mask ordinary text) and the warning
    names the value's label only."""
    engine = engine_with([("the short one", "admin"), ("a test value", VALUE)])
    assert "admin" not in caplog.text.replace("the short one", "")
    assert "the short one is not masked by value" in caplog.text
    assert engine.find(f"x {VALUE} admin")[0].rule == "known-value"
    assert len(engine.find(f"x {VALUE} admin")) == 1


def _iter_forms() -> Iterator[str]:
    yield VALUE
    yield base64.b64encode(VALUE.encode()).decode()
    yield base64.urlsafe_b64encode(b"xy" + VALUE.encode()).decode()


@pytest.mark.parametrize("form", list(_iter_forms()))
def test_the_session_engine_finds_values_in_their_encoded_forms(engine: Engine, form: str) -> None:
    """Known values are found beside the rule engine's own findings, in encoded forms too."""
    spans = engine.find(f"prefix {form} {AWS_LINE}")
    rules = [s.rule for s in spans]
    assert "known-value" in rules and any(r.startswith("aws") for r in rules)
