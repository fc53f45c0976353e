"""10,000 sessions through one broker: its memory, mass revocation, and the reaper's delay.

    .venv/bin/python bench/sessions.py [--sessions 10000] [--concurrency 32]

One run starts a fresh OpenBao dev server, a local OIDC issuer and a real ``sluice broker
serve`` (SQLite store), then:

1. opens ``--sessions`` sessions (one fresh workload JWT each) and reads the broker's VmRSS and
   VmHWM from /proc/<pid>/status;
2. creates as many tokens of its own straight in OpenBao (same role, same body as the broker);
3. ends everything, interleaved in halves so OpenBao's store size weighs on both alike: the
   broker's sessions by ``DELETE /v1/sessions/{id}`` (each with its own session token), the
   raw tokens by ``auth/token/revoke-accessor`` — both with the same bounded concurrency;
4. restarts the broker with a short heartbeat window and reap interval, opens a few sessions
   that never heartbeat, and measures how long after each session's deadline the reaper takes
   it (state leaves ``active``) and OpenBao confirms the revocation (final state).

OpenBao and the load generator share core 0, the broker has core 1 (see bench/common.py).
Goals (issue 5): broker RSS ≤ 200 MB at 10,000 active sessions; mass revocation ≥ 0.8× the raw
revoke-accessor rate; reaper pickup within 2× the heartbeat interval.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.common import (
    LOADGEN_CORE,
    ROLE,
    CpuWatch,
    Level,
    Stack,
    add_run_options,
    machine_notes,
    memory_kib,
    mint_untimed,
    new_work_dir,
    pin_self,
    raw_create_body,
    run_level,
    start_profiler,
    stop_profiler,
    table,
    tear_down,
)

RULE_TTL_S = 3600
FINAL_STATES = ("ended", "expired", "revoked")


async def open_sessions(
    stack: Stack, jwts: list[str], concurrency: int
) -> tuple[Level, list[tuple[str, str]]]:
    opened: list[tuple[str, str]] = []
    url = stack.broker_url + "/v1/sessions"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def call(i: int) -> int:
            async with http.post(url, headers={"Authorization": "Bearer " + jwts[i]}) as r:
                body = await r.json(content_type=None)
                if r.status == 201:
                    opened.append((body["session_id"], body["token"]))
                return r.status

        level = await run_level(call, concurrency, len(jwts), 600.0)
    return level, opened


async def raw_tokens(stack: Stack, count: int, concurrency: int) -> tuple[Level, list[str]]:
    accessors: list[str] = []
    url = f"{stack.bao.addr}/v1/auth/token/create/{ROLE}"
    headers = {"X-Vault-Token": stack.broker_token}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def call(i: int) -> int:
            body = raw_create_body(i, RULE_TTL_S, stack.issuer.url)
            async with http.post(url, json=body, headers=headers) as r:
                answer = await r.json(content_type=None)
                if r.status == 200:
                    accessors.append(answer["auth"]["accessor"])
                return r.status

        level = await run_level(call, concurrency, count, 600.0)
    return level, accessors


async def end_all(
    stack: Stack,
    sessions: list[tuple[str, str]],
    accessors: list[str],
    concurrency: int,
    cpu_s: dict[str, dict[str, float]],
) -> tuple[Level, Level]:
    """Broker DELETEs and raw revoke-accessor calls, alternating in halves; returns the two
    summed Levels (elapsed = time spent in each kind's runs) and fills ``cpu_s[kind][process]``
    with CPU seconds used during each kind's runs."""
    revoke_url = f"{stack.bao.addr}/v1/auth/token/revoke-accessor"
    bao_headers = {"X-Vault-Token": stack.broker_token}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def delete(i: int) -> int:
            session_id, token = sessions[i]
            headers = {"Authorization": "Bearer " + token}
            async with http.delete(
                f"{stack.broker_url}/v1/sessions/{session_id}", headers=headers
            ) as r:
                await r.read()
                return r.status

        async def revoke(i: int) -> int:
            async with http.post(
                revoke_url, json={"accessor": accessors[i]}, headers=bao_headers
            ) as r:
                await r.read()
                return r.status

        broker_runs: list[Level] = []
        raw_runs: list[Level] = []
        pids = {"broker": stack.broker_pid, "bao": stack.bao.pid or 0}
        halves_s = [(0, len(sessions) // 2), (len(sessions) // 2, len(sessions))]
        halves_a = [(0, len(accessors) // 2), (len(accessors) // 2, len(accessors))]
        for (s0, s1), (a0, a1) in zip(halves_s, halves_a):
            watch = CpuWatch(pids)
            raw_runs.append(await run_level(revoke, concurrency, a1 - a0, 600.0, a0))
            _add(cpu_s, "raw", watch, raw_runs[-1])
            watch = CpuWatch(pids)
            broker_runs.append(await run_level(delete, concurrency, s1 - s0, 600.0, s0))
            _add(cpu_s, "broker", watch, broker_runs[-1])
    return _merge(broker_runs), _merge(raw_runs)


def _add(into: dict[str, dict[str, float]], kind: str, watch: CpuWatch, level: Level) -> None:
    for name, pct in watch.percent().items():
        into[kind][name] = into[kind].get(name, 0.0) + pct * level.elapsed_s / 100


def _merge(levels: list[Level]) -> Level:
    errors: dict[int, int] = {}
    for level in levels:
        for k, v in level.errors.items():
            errors[k] = errors.get(k, 0) + v
    return Level(
        levels[0].concurrency,
        [lat for level in levels for lat in level.latencies],
        sum(level.elapsed_s for level in levels),
        errors,
    )


def mib(kib: int) -> float:
    return kib / 1024


# --- reaper pickup ----------------------------------------------------------------------------
def session_rows(db: Path, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Read-only look at the broker's SQLite store (WAL lets a reader in beside the writer)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        con.row_factory = sqlite3.Row
        marks = ",".join("?" * len(ids))
        rows = con.execute(f"SELECT * FROM sessions WHERE id IN ({marks})", ids).fetchall()
        return {row["id"]: dict(row) for row in rows}
    finally:
        con.close()


async def reaper_pickup(stack: Stack, jwts: list[str], stagger_s: float) -> list[dict[str, Any]]:
    """Open ``len(jwts)`` sessions ``stagger_s`` apart (so their deadlines fall at different
    points of the reap cycle), never heartbeat them, and watch the store until each is final;
    then ask OpenBao whether each session token still works."""
    url = stack.broker_url + "/v1/sessions"
    ids: list[str] = []
    tokens: dict[str, str] = {}
    async with aiohttp.ClientSession() as http:
        for jwt in jwts:
            async with http.post(url, headers={"Authorization": "Bearer " + jwt}) as r:
                body = await r.json(content_type=None)
                if r.status != 201:
                    raise RuntimeError(f"open for the reaper test answered {r.status}: {body}")
                ids.append(body["session_id"])
                tokens[body["session_id"]] = body["token"]
            await asyncio.sleep(stagger_s)
    db = Path(stack.broker_config(0)["store"]["sqlite_path"])
    picked: dict[str, float] = {}
    final: dict[str, float] = {}
    rows: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 300
    while len(final) < len(ids) and time.monotonic() < deadline:
        rows = session_rows(db, ids)
        now = time.time()
        for sid, row in rows.items():
            if row["state"] != "active" and sid not in picked:
                picked[sid] = now
            if row["state"] in FINAL_STATES and sid not in final:
                final[sid] = now
        await asyncio.sleep(0.02)
    out = []
    for sid in ids:
        row = rows[sid]
        due = row.get("deadline_at") or row["expires_at"]
        out.append(
            {
                "due_at": due,
                "picked_s": picked.get(sid, float("nan")) - due,
                "final_s": final.get(sid, float("nan")) - due,
                "state": row["state"],
                # root-side auth/token/lookup: 200 while the token lives, 403 once revoked
                "token_alive": stack.bao.lookup_status(tokens[sid]) == 200,
            }
        )
    return out


def sidecar_heartbeat_interval(window_s: float) -> float:
    """The interval the sidecar heartbeats at for a given window (sidecar/heartbeat.py)."""
    from sidecar.heartbeat import heartbeat_delay_s

    return heartbeat_delay_s(window_s, 0)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--heartbeat-window", type=float, default=6.0, help="reaper phase (s)")
    parser.add_argument(
        "--reap-interval",
        type=float,
        help="reaper phase (s); default a third of the window, as the defaults 90 s / 30 s",
    )
    parser.add_argument("--reaper-sessions", type=int, default=8)
    add_run_options(parser, profile_help="py-spy the main broker into this file")
    args = parser.parse_args()

    pin_self(LOADGEN_CORE)
    work = new_work_dir()
    main_config = {
        "store": {"sqlite_path": str(work / "sessions.db")},
        "sessions": {"heartbeat_window_s": RULE_TTL_S},
    }
    stack = Stack(work, rule_ttl_s=RULE_TTL_S, broker_extra=main_config)
    profiler: subprocess.Popen[bytes] | None = None
    try:
        stack.start()
        print(machine_notes())
        warm = 50
        jwts = mint_untimed(stack.issuer, args.sessions + warm + args.reaper_sessions, RULE_TTL_S)
        stack.start_broker(args.log_level)
        pid = stack.broker_pid
        if args.profile:
            profiler = start_profiler(pid, args.profile)
        idle = memory_kib(pid)
        _, warm_sessions = asyncio.run(open_sessions(stack, jwts[:warm], 8))
        base = memory_kib(pid)
        opened_level, sessions = asyncio.run(
            open_sessions(stack, jwts[warm : warm + args.sessions], args.concurrency)
        )
        full = memory_kib(pid)
        print(
            f"opened {opened_level.ok} sessions in {opened_level.elapsed_s:.1f}s "
            f"({opened_level.rate:.0f}/s, errors {opened_level.errors or '-'}); broker VmRSS "
            f"{mib(idle['VmRSS']):.0f} MiB idle, {mib(base['VmRSS']):.0f} MiB after {warm}, "
            f"{mib(full['VmRSS']):.0f} MiB at {len(sessions) + len(warm_sessions)} active "
            f"(VmHWM {mib(full['VmHWM']):.0f} MiB)",
            flush=True,
        )
        created, accessors = asyncio.run(raw_tokens(stack, len(sessions), args.concurrency))
        print(
            f"raw: created {created.ok} tokens in {created.elapsed_s:.1f}s ({created.rate:.0f}/s)"
        )
        cpu_s: dict[str, dict[str, float]] = {"broker": {}, "raw": {}}
        ended, revoked = asyncio.run(end_all(stack, sessions, accessors, args.concurrency, cpu_s))
        after = memory_kib(pid)
        rows = [
            ["broker DELETE /v1/sessions/{id}", ended.ok, ended.rate, ended.pct(50), ended.pct(99),
             ", ".join(f"{k}×{v}" for k, v in ended.errors.items()) or "-"],
            ["raw auth/token/revoke-accessor", revoked.ok, revoked.rate, revoked.pct(50),
             revoked.pct(99), ", ".join(f"{k}×{v}" for k, v in revoked.errors.items()) or "-"],
        ]  # fmt: skip
        print(f"\nmass revocation at concurrency {args.concurrency}:")
        print(table(["what", "ok", "per s", "p50 ms", "p99 ms", "errors"], rows))
        ratio = ended.rate / revoked.rate if revoked.rate else float("nan")
        print(f"broker ÷ raw revocation rate: {ratio:.2f}")
        for kind, level in (("broker", ended), ("raw", revoked)):
            used = cpu_s[kind]
            print(
                f"cpu during the {kind} runs, ms per revocation: "
                + ", ".join(f"{k} {1000 * v / max(1, level.ok):.2f}" for k, v in used.items())
            )
        print(
            "\nbroker memory:\n"
            + table(
                ["when", "VmRSS MiB", "VmHWM MiB"],
                [
                    ["started, idle", mib(idle["VmRSS"]), mib(idle["VmHWM"])],
                    [f"{len(warm_sessions)} sessions", mib(base["VmRSS"]), mib(base["VmHWM"])],
                    [
                        f"{len(sessions) + len(warm_sessions)} active sessions",
                        mib(full["VmRSS"]),
                        mib(full["VmHWM"]),
                    ],
                    ["all ended", mib(after["VmRSS"]), mib(after["VmHWM"])],
                ],
            )
        )
        if profiler is not None:
            stop_profiler(profiler)
            profiler = None
        stack.stop_broker()

        # Reaper: a broker whose sessions must heartbeat every few seconds, and none do.
        reap_interval = args.reap_interval or args.heartbeat_window / 3
        stack.broker_extra = {
            "store": {"sqlite_path": str(work / "reaper.db")},
            "sessions": {"heartbeat_window_s": args.heartbeat_window},
            "reap_interval_s": reap_interval,
        }
        stack.start_broker(args.log_level)
        stagger = args.heartbeat_window / max(1, args.reaper_sessions)
        pickups = asyncio.run(reaper_pickup(stack, jwts[-args.reaper_sessions :], stagger))
        interval = sidecar_heartbeat_interval(args.heartbeat_window)
        picked = sorted(p["picked_s"] for p in pickups)
        finals = sorted(p["final_s"] for p in pickups)
        print(
            f"\nreaper: heartbeat window {args.heartbeat_window:g}s, reap interval "
            f"{reap_interval:g}s, sidecar heartbeat interval {interval:g}s; "
            f"{len(pickups)} sessions never "
            "heartbeaten; delay past each session's deadline:"
        )
        print(
            table(
                ["", "min s", "median s", "max s"],
                [
                    ["picked up (left active)", picked[0], picked[len(picked) // 2], picked[-1]],
                    ["revocation confirmed", finals[0], finals[len(finals) // 2], finals[-1]],
                ],
            )
        )
        alive = sum(1 for p in pickups if p["token_alive"])
        print(
            f"final states: {sorted({p['state'] for p in pickups})}; session tokens still "
            f"valid in OpenBao afterwards: {alive} of {len(pickups)}"
        )
        goals = [
            (f"broker RSS ≤ 200 MB at {len(sessions):,} active", full["VmRSS"] * 1024 <= 200e6),
            ("mass revocation ≥ 0.8× raw", ratio >= 0.8),
        ]
        goals.append(("reaper pickup ≤ 2× heartbeat interval", finals[-1] <= 2 * interval))
        print("\n" + "\n".join(f"goal: {n}: {'met' if ok else 'MISSED'}" for n, ok in goals))
    finally:
        tear_down(stack, work, keep=args.keep, profiler=profiler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
