"""`make demo`: the whole loop on loopback, step by step, then everything stopped.

OpenBao dev server -> local OIDC issuer -> broker (SQLite) -> sidecar with a fresh workload
token -> workload reads a KV secret with the socket-delivered token -> sidecar stopped ->
OpenBao rejects that token. Then `sluice run` runs a CI job that prints its own token and
a GitHub token by mistake: only markers reach the terminal, and the token dies at exit.
No token or JWT is ever printed.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from broker.audit import verify_audit
from demo.issuer import Issuer
from demo.openbao import DevServer
from demo.workload import mask, token_from_socket
from scanners.checksums import BASE62_ALPHABET, with_crc32_base62

SUBJECT = "system:serviceaccount:demo:app"
RULE_TTL_S = 600
REPO = Path(__file__).resolve().parent.parent


def say(step: str, text: str) -> None:
    print(f"{step:>6}  {text}", flush=True)


def sluice_cmd() -> list[str]:
    beside = Path(sys.executable).parent / "sluice"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "sluice_cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: object, what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def stop(proc: subprocess.Popen[bytes] | None) -> int | None:
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def secrets_dir() -> Path:
    """A private directory for the demo's credentials, on tmpfs where the machine has one."""
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="sluice-demo-", dir=base))


def write_secret(path: Path, value: str) -> Path:
    """Create `path` readable by its owner only (0400) and write `value`: never a wider mode,
    not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "w") as out:
        out.write(value)
    return path


def redaction_step(base: str, issuer: Issuer, bao: DevServer, vault: Path) -> None:
    """`sluice run` a job that prints its session token and a GitHub token by mistake: show
    what reached the terminal, prove no raw value did, and that the token died at exit."""
    identity = write_secret(vault / "identity-job.jwt", issuer.mint(sub=SUBJECT))
    github = with_crc32_base62("ghp_", "".join(secrets.choice(BASE62_ALPHABET) for _ in range(30)))
    kept = vault / "job-token"  # the job's own copy, so the demo can check; never printed
    started = time.monotonic()
    job = subprocess.run(
        [
            *sluice_cmd(),
            "run",
            "--broker",
            base,
            "--identity-token-file",
            str(identity),
            "--",
            sys.executable,
            "-m",
            "demo.workload",
            str(kept),
        ],
        cwd=REPO,
        env={**os.environ, "DEMO_GITHUB_TOKEN": github},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    streams = {
        "stdout": job.stdout.decode(errors="replace"),
        "stderr": job.stderr.decode(errors="replace"),
    }
    seen = "".join(streams.values())
    token = kept.read_text() if kept.exists() else ""
    say(
        "8/9",
        f"sluice run -- a CI job that prints its secrets by mistake -> exit {job.returncode} "
        f"({time.monotonic() - started:.1f}s); its output as it reached the terminal:",
    )
    for name, text in streams.items():
        for line in text.splitlines():
            if line.startswith(("debug:", "deploy")):  # the job's lines, not sluice's own log
                say("", f"  {name} | {line}")
    forms = {
        "token": token,
        "token in base64": base64.b64encode(f"ci:{token}".encode()).decode(),
        "GitHub token": github,
    }
    raw = [name for name, value in forms.items() if value in seen]
    status = bao.lookup_status(token) if token else 0
    say(
        "",
        f"raw values in that output: {'LEAKED ' + ', '.join(raw) if raw else 'none'} "
        f"(checked: {', '.join(forms)}); the job's token after exit -> {status}",
    )
    if job.returncode != 0 or not token or raw or status != 403:
        raise RuntimeError(f"the redaction step failed (exit {job.returncode}):\n{seen[-2000:]}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="sluice-demo-", dir="/tmp"))
    vault = secrets_dir()  # credentials only: tmpfs, files 0400
    bao = DevServer()
    issuer = Issuer()
    broker: subprocess.Popen[bytes] | None = None
    sidecar: subprocess.Popen[bytes] | None = None
    # The audit log is checked for leaks like the process logs are.
    logs = {
        "broker": work / "broker.log",
        "sidecar": work / "sidecar.log",
        "audit": work / "audit.jsonl",
    }
    try:
        bao.start()
        say("1/9", f"OpenBao dev server started at {bao.addr} (pid {bao.pid})")

        bao.kv_put("demo/db", {"username": "app", "password": "correct-horse-battery"})
        bao.kv_put("other/db", {"password": "not-for-the-demo-app"})
        bao.put_policy("sluice-demo-read", 'path "secret/data/demo/*" { capabilities = ["read"] }')
        broker_token = write_secret(vault / "broker-token", bao.provision_broker())
        say(
            "2/9",
            "OpenBao provisioned: KV secret/demo/db, policy sluice-demo-read, "
            "token role 'sluice', least-privilege broker token in a 0400 file on tmpfs",
        )

        issuer.start()
        kinds = ", ".join(f"{k.kid} {k.alg}" for k in issuer.keys)
        say("3/9", f"OIDC issuer started at {issuer.url} (keys generated: {kinds})")

        port = free_port()
        config = work / "broker.yaml"
        config.write_text(
            f"listen: {{host: 127.0.0.1, port: {port}}}\n"
            f"vault: {{addr: '{bao.addr}', token_file: '{broker_token}', token_role: sluice}}\n"
            f"store: {{sqlite_path: '{work / 'sessions.db'}'}}\n"
            f"audit: {{path: '{logs['audit']}'}}\n"
            f"issuers:\n  - name: demo-issuer\n    issuer: '{issuer.url}'\n    audiences: [sluice]\n"
            f"rules:\n  - name: demo-app\n    issuer: demo-issuer\n"
            f"    match: {{sub: 'system:serviceaccount:demo:*'}}\n"
            f"    policies: [sluice-demo-read]\n    ttl: {RULE_TTL_S}s\n"
        )
        broker = spawn([*sluice_cmd(), "broker", "serve", "--config", str(config)], logs["broker"])
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_status(base + "/healthz") == 200, "the broker")
        say("4/9", f"broker started at {base} (pid {broker.pid}, SQLite store sessions.db)")

        identity = write_secret(vault / "identity.jwt", issuer.mint(sub=SUBJECT))
        say("5/9", f"workload identity token minted: iss={issuer.url} sub={SUBJECT} aud=sluice")

        sock = work / "run" / "sidecar.sock"
        sidecar = spawn(
            [
                *sluice_cmd(),
                "sidecar",
                "--broker",
                base,
                "--identity-token-file",
                str(identity),
                "--socket",
                str(sock),
            ],
            logs["sidecar"],
        )
        wait_for(sock.exists, "the sidecar socket")
        answer = token_from_socket(str(sock))
        token = str(answer["token"])
        mode = oct(sock.stat().st_mode & 0o777)
        dir_mode = oct(sock.parent.stat().st_mode & 0o777)
        say(
            "6/9",
            f"sidecar got session {answer['session_id']}; socket {sock} "
            f"(mode {mode[2:]}, dir {dir_mode[2:]})",
        )

        ttl = int(answer["expires_at"] - time.time())
        say(
            "7/9",
            f"workload: GET /v1/token over the socket -> token {token[:2]}{mask(token[2:])} "
            f"({len(token)} chars), expires in ~{ttl}s (rule ttl {RULE_TTL_S}s)",
        )
        status, body = bao.api("GET", "secret/data/demo/db", token=token)
        if status != 200:
            raise RuntimeError(f"workload read of secret/data/demo/db answered {status}")
        shown = ", ".join(f"{k}={mask(v)}" for k, v in sorted(body["data"]["data"].items()))
        say("", f"workload: read secret/data/demo/db -> 200, {shown}")
        status, _ = bao.api("GET", "secret/data/other/db", token=token)
        say("", f"workload: read secret/data/other/db -> {status} (outside the rule's policy)")
        if status != 403:
            raise RuntimeError("the session token reached a path its rule does not allow")

        redaction_step(base, issuer, bao, vault)

        code = stop(sidecar)
        say(
            "9/9",
            f"sidecar stopped with SIGTERM -> exit {code}; socket removed: {not sock.exists()}",
        )
        status = bao.lookup_status(token)
        read, _ = bao.api("GET", "secret/data/demo/db", token=token)
        say(
            "",
            f"OpenBao now answers {status} for that token (auth/token/lookup: bad token); "
            f"its read of secret/data/demo/db -> {read}",
        )
        if code != 0 or status != 403 or read != 403:
            raise RuntimeError("the session did not end cleanly")

        leaked = [
            name
            for name, path in logs.items()
            if token in path.read_text() or identity.read_text() in path.read_text()
        ]
        say("", f"logs checked: {'LEAK in ' + ', '.join(leaked) if leaked else 'no token, no JWT'}")
        chain = verify_audit(logs["audit"])
        say("", f"audit log: {chain.describe()} (sluice broker audit-verify)")
        return 1 if leaked or not chain.ok else 0
    except Exception as exc:  # noqa: BLE001 - the demo's one place to report any failure
        print(f"demo failed: {exc}", file=sys.stderr)
        for name, path in logs.items():
            if path.exists():
                print(f"--- {name} log ---\n{path.read_text()[-3000:]}", file=sys.stderr)
        return 1
    finally:
        stop(sidecar)
        broker_code = stop(broker)
        issuer.stop()
        bao_pid = bao.pid
        bao.stop()
        alive = [
            pid
            for pid in (bao_pid, broker.pid if broker else None, sidecar.pid if sidecar else None)
            if pid and _alive(pid)
        ]
        say(
            "done",
            f"broker stopped (exit {broker_code}), issuer and OpenBao stopped; "
            + (f"STILL RUNNING: {alive}" if alive else "nothing left running"),
        )
        for top in (work, vault):
            for path in sorted(top.rglob("*"), reverse=True):
                path.unlink() if not path.is_dir() else path.rmdir()
            os.rmdir(top)


if __name__ == "__main__":
    sys.exit(main())
