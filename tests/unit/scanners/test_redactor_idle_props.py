"""Idle flush, property-tested: random text of secrets, near-secrets and noise, cut into random
chunks with idle points at random chunk boundaries, gives exactly the output of the redactor
without idle flush (only earlier) and never shows a secret that output hides."""

from __future__ import annotations

import base64
import json
from itertools import pairwise
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanners.engine import Engine
from scanners.known import KnownValues
from scanners.redactor import Redactor
from scanners.rules import ALL_RULES
from tests.unit.scanners.ruleset import GH_TOKEN, PASSWORD_VALUE, PEM_BLOCK, RULES, SLACK_TOKEN
from tests.unit.scanners.samples import (
    ALNUM,
    aws_key_id,
    aws_secret,
    ec_private_key,
    github_pat,
    rand,
    slack_webhook,
)

SMALL_LINE = 120
KNOWN = rand(ALNUM, 24)
SPACED = "my secret pass phrase 42!"  # a known value holding spaces
TOKEN, KEY_ID, AWS_SECRET, HOOK, PEM = (
    github_pat(),
    aws_key_id(),
    aws_secret(),
    slack_webhook(),
    ec_private_key(),
)
ADO_PASSWORD = "pa ss w0rd x"
SECRETS = [
    TOKEN,
    KEY_ID,
    AWS_SECRET,
    HOOK,
    KNOWN,
    SPACED,
    PASSWORD_VALUE,
    ADO_PASSWORD,
    json.dumps(SPACED)[1:-1],
    quote(SPACED, safe=""),
    base64.b64encode(KNOWN.encode()).decode(),
    PEM.splitlines()[1],
]
PARTS = [
    # secrets in context
    TOKEN,
    "export GH=" + TOKEN,
    "AWS_SECRET_ACCESS_KEY=" + AWS_SECRET,
    KEY_ID,
    HOOK,
    KNOWN,
    SPACED,
    json.dumps({"v": SPACED}),
    quote(SPACED, safe=""),
    "b64 " + base64.b64encode(KNOWN.encode()).decode() + " ",
    "Password: " + PASSWORD_VALUE,
    "password=" + PASSWORD_VALUE,
    "--token " + PASSWORD_VALUE,
    f"Server=db;Password={ADO_PASSWORD};",
    PEM,
    "key: " + PEM,
    # near-secrets
    TOKEN[:11],
    TOKEN[11:],
    "ghp_",
    "Password: ",
    "password=",
    "--token ",
    "Bearer ",
    "my secret ",
    "-----BEGIN ",
    KNOWN[:5],
    KNOWN[5:],
    "Server=",
    "AKIA",
    # noise and line structure
    " ",
    "  ",
    "\t",
    "\r",
    "\n",
    "\r\n",
    "ok",
    "done 10%",
    "x" * 40,
    ":",
    "=",
    '"',
    "é✓",
]

_ENGINES: dict[str, Engine] = {}


def catalogue() -> Engine:
    if "catalogue" not in _ENGINES:
        known = KnownValues()
        for value in (KNOWN, SPACED):
            known.add(value, source="TEST")
        _ENGINES["catalogue"] = Engine(ALL_RULES, known)
    return _ENGINES["catalogue"]


def small(backend: str) -> Engine:
    if backend not in _ENGINES:
        known = KnownValues()
        known.add("opaque-Val-9f3kQ2", source="TEST")
        _ENGINES[backend] = Engine(RULES, known, backend=backend)
    return _ENGINES[backend]


def plain(engine: Engine, text: str, **options: object) -> str:
    redactor = Redactor(engine, **options)  # type: ignore[arg-type]
    return redactor.feed(text) + redactor.flush()


def with_idle(
    engine: Engine, text: str, cuts: list[int], idles: list[bool], **options: object
) -> str:
    """`text` fed in chunks split at `cuts`; after chunk i, an idle flush when idles[i]."""
    redactor = Redactor(engine, eager_cr=True, **options)  # type: ignore[arg-type]
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    out: list[str] = []
    for i, (start, end) in enumerate(pairwise(bounds)):
        out.append(redactor.feed(text[start:end]))
        if idles[i % len(idles)]:
            out.append(redactor.idle())
    out.append(redactor.flush())
    return "".join(out)


SCHEDULE = {
    "parts": st.lists(st.sampled_from(PARTS), max_size=10),
    "cuts": st.lists(st.integers(min_value=0, max_value=2000), max_size=14),
    "idles": st.lists(st.booleans(), min_size=1, max_size=14),
}
SLOW = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(**SCHEDULE)
def test_idle_points_never_change_the_redacted_text(
    parts: list[str], cuts: list[int], idles: list[bool]
) -> None:
    """Redact mode, full catalogue: same output as without idle flush, wherever idle falls."""
    text = "".join(parts)
    expected = plain(catalogue(), text)
    got = with_idle(catalogue(), text, cuts, idles)
    for secret in SECRETS:
        if secret not in expected:
            assert secret not in got
    assert got == expected


@SLOW
@given(**SCHEDULE)
def test_block_mode_with_idle_points_shows_no_secret(
    parts: list[str], cuts: list[int], idles: list[bool]
) -> None:
    """Block mode: a line's shown beginning may stay where the plain output withholds the whole
    line, but no secret the redactor finds appears, and no line is added or lost."""
    text = "".join(parts)
    redacted = plain(catalogue(), text)
    expected = plain(catalogue(), text, mode="block")
    got = with_idle(catalogue(), text, cuts, idles, mode="block")
    for secret in SECRETS:
        if secret not in redacted:
            assert secret not in got
    assert got.count("\n") == expected.count("\n")
    assert [line for line in got.split("\n") if "[WITHHELD:" not in line] == [
        line for line in expected.split("\n") if "[WITHHELD:" not in line
    ]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(
        st.sampled_from(
            [
                GH_TOKEN,
                SLACK_TOKEN,
                "password=",
                PASSWORD_VALUE,
                PEM_BLOCK,
                " ",
                "\r",
                "\n",
                "x" * 130,
                "opaque-Val-9f3kQ2",
                "ghp_",
                "-----BEGIN ",
            ]
        ),
        max_size=10,
    ),
    cuts=SCHEDULE["cuts"],
    idles=SCHEDULE["idles"],
    backend=st.sampled_from(["hyperscan", "python"]),
)
def test_long_lines_with_idle_points_show_no_secret(
    parts: list[str], cuts: list[int], idles: list[bool], backend: str
) -> None:
    """Lines past max_line_length (windows) are redacted approximately, but still never show a
    secret that the plain output hides; short ones are exactly the same."""
    engine = small(backend)
    text = "".join(parts)
    expected = plain(engine, text, max_line_length=SMALL_LINE)
    got = with_idle(engine, text, cuts, idles, max_line_length=SMALL_LINE)
    for secret in (GH_TOKEN, SLACK_TOKEN, PASSWORD_VALUE, "opaque-Val-9f3kQ2", "MIIEowIBAAKCAQEA"):
        if secret not in expected:
            assert secret not in got
    if all(len(line) < SMALL_LINE for line in text.split("\n")):
        assert got == expected
