"""Scanner benchmark: accuracy of Sluice vs detect-secrets, and `sluice redact` throughput.

    .venv/bin/python bench/scan.py [--size-mb 104] [--files-per-kind 4] [--lines 2500]

One run: generates a labelled corpus (bench/scan_corpus.py) under a temp dir, scans it with
Sluice (in process, the same code as `sluice scan`) and detect-secrets (its Python API, which
never verifies over the network), and prints recall / precision / F1 for both; then times the
whole `sluice redact` process (stdin -> stdout, pinned to one core with taskset) on a log file
of --size-mb with `cat` on the same file beside it as the ceiling, and peak RSS at two sizes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_corpus import Label, make_documents, make_log_stream

Found = set[tuple[str, int, str]]  # (file, line, value)


def sluice_findings(root: Path) -> tuple[Found, float]:
    from scanners.artifacts import scan_paths
    from scanners.engine import Engine
    from scanners.rules import ALL_RULES

    engine = Engine(ALL_RULES)
    start = time.perf_counter()
    result = scan_paths(engine, [str(root)])
    elapsed = time.perf_counter() - start
    found = {(Path(f.file).name, f.line, f.value.reveal()) for f in result.findings}
    return found, elapsed


def detect_secrets_findings(root: Path) -> tuple[Found, float]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    found: Found = set()
    start = time.perf_counter()
    with default_settings():
        collection = SecretsCollection()
        for path in sorted(root.iterdir()):
            collection.scan_file(str(path))
        for filename, secret in collection:
            found.add((Path(filename).name, secret.line_number, secret.secret_value or ""))
    return found, time.perf_counter() - start


def score(found: Found, labels: list[Label]) -> dict[str, float]:
    by_line: dict[tuple[str, int], list[Label]] = {}
    for label in labels:
        by_line.setdefault((label.file, label.line), []).append(label)
    hit: set[Label] = set()
    true_findings = 0
    for file, line, value in found:
        matched = [lab for lab in by_line.get((file, line), [])
                   if value and (value in lab.value or lab.value in value)]
        if matched:
            true_findings += 1
            hit.update(matched)
    recall = len(hit) / len(labels) if labels else 1.0
    precision = true_findings / len(found) if found else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"recall": recall, "precision": precision, "f1": f1, "findings": len(found),
            "false": len(found) - true_findings, "missed": len(labels) - len(hit)}


def missed_kinds(found: Found, labels: list[Label]) -> Counter[str]:
    by_line: dict[tuple[str, int], list[str]] = {}
    for file, line, value in found:
        by_line.setdefault((file, line), []).append(value)
    return Counter(
        label.kind for label in labels
        if not any(v in label.value or label.value in v for v in by_line.get((label.file, label.line), []))
    )


def timed(cmd: list[str], src: Path, *, pin: bool = True,
          env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (kB) of `cmd < src > /dev/null`,
    measured by /usr/bin/time -v around the whole process."""
    prefix = ["taskset", "-c", "0"] if pin and shutil.which("taskset") else []
    with open(src, "rb") as stdin, open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-v", *prefix, *cmd], stdin=stdin, stdout=devnull,
                              stderr=subprocess.PIPE, check=True, env=env)
        elapsed = time.perf_counter() - start

    def field(name: bytes) -> bytes:
        match = re.search(name + rb": ([0-9.]+)", proc.stderr)
        assert match is not None, proc.stderr[-500:]
        return match.group(1)

    cpu = float(field(rb"User time \(seconds\)")) + float(field(rb"System time \(seconds\)"))
    return elapsed, cpu, int(field(rb"Maximum resident set size \(kbytes\)"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=104)
    parser.add_argument("--small-mb", type=int, default=10)
    parser.add_argument("--files-per-kind", type=int, default=4)
    parser.add_argument("--lines", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--accuracy-only", action="store_true")
    args = parser.parse_args()
    sluice = [str(Path(sys.executable).parent / "sluice"), "redact"]
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        docs, labels = make_documents(args.seed, lines_per_file=args.lines, files_per_kind=args.files_per_kind)
        for name, text in docs.items():
            (corpus / name).write_text(text)
        corpus_mb = sum(len(t.encode()) for t in docs.values()) / 1e6
        print(f"corpus: {len(docs)} files, {corpus_mb:.1f} MB, {sum(t.count(chr(10)) for t in docs.values())} lines, "
              f"{len(labels)} labelled secrets of {len({lab.kind for lab in labels})} kinds")
        s_found, s_time = sluice_findings(corpus)
        d_found, d_time = detect_secrets_findings(corpus)
        s, d = score(s_found, labels), score(d_found, labels)
        print("\n| scanner | recall | precision | F1 | findings | false positives | missed | scan MB/s |")
        print("|---|---|---|---|---|---|---|---|")
        for name, m, t in (("Sluice", s, s_time), ("detect-secrets 1.5", d, d_time)):
            print(f"| {name} | {m['recall']:.3f} | {m['precision']:.3f} | {m['f1']:.3f} | {m['findings']} "
                  f"| {m['false']} | {m['missed']} | {corpus_mb / t:.2f} |")
        misses = missed_kinds(s_found, labels)
        if misses:
            print(f"\nSluice missed: {dict(misses)}")
        false_sluice = sorted(f for f in s_found if not any(
            lab.file == f[0] and lab.line == f[1] and (f[2] in lab.value or lab.value in f[2]) for lab in labels))
        kinds = Counter(re.sub(r"[0-9a-f]{8,}|\d+", "#", f[2])[:40] for f in false_sluice)
        for value, count in kinds.most_common(10):
            print(f"  Sluice false positives like {value!r}: {count}")

        if args.accuracy_only:
            return
        big = work / "big.log"
        small = work / "small.log"
        big.write_bytes(make_log_stream(args.seed, args.size_mb << 20))
        small.write_bytes(big.read_bytes()[: args.small_mb << 20].rsplit(b"\n", 1)[0] + b"\n")
        size = big.stat().st_size
        # An installed sluice runs from compiled bytecode; a PYTHONDONTWRITEBYTECODE shell would
        # instead compile every module on each start (~70 ms). Bytecode goes to the temp dir.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        timed(sluice, small, env=env)  # warm the bytecode, the database cache and the page cache
        runs = [timed(sluice, big, env=env) for _ in range(args.repeat)]
        cat_runs = [timed(["cat"], big) for _ in range(args.repeat)]
        best_wall, best_cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        rss_big = max(r[2] for r in runs)
        cat_best = min(r[0] for r in cat_runs)
        small_rss = max(timed(sluice, small, env=env)[2] for _ in range(2))
        mb = size / 1e6
        load = os.getloadavg()[0]
        print(f"\n`sluice redact` on {mb:.0f} MB of logs, pinned with taskset -c 0, best of "
              f"{args.repeat}; 1-minute load average while measuring: {load:.1f} on {os.cpu_count()} cores")
        print("\n| process (stdin -> /dev/null) | MB/s by wall clock | MB/s by CPU time | peak RSS |")
        print("|---|---|---|---|")
        print(f"| sluice redact, {mb:.0f} MB | {mb / best_wall:.0f} | {mb / best_cpu:.0f} | {rss_big / 1024:.0f} MB |")
        print(f"| sluice redact, {small.stat().st_size / 1e6:.0f} MB | | | {small_rss / 1024:.0f} MB |")
        print(f"| cat (ceiling), {mb:.0f} MB | {mb / cat_best:.0f} | | |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
