from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanners.engine import Engine
from scanners.known import KnownValues
from scanners.redactor import Redactor, redact_text
from tests.unit.scanners.ruleset import GH_TOKEN, LOG, PASSWORD_VALUE, PEM_BLOCK, RULES, SLACK_TOKEN

SMALL_LINE = 120  # small max line length so tests exercise the long-line windows cheaply

_ENGINES: dict[str, Engine] = {}


def engine_for(backend: str) -> Engine:
    if backend not in _ENGINES:
        known = KnownValues()
        known.add("opaque-Val-9f3kQ2", source="TEST")
        _ENGINES[backend] = Engine(RULES, known, backend=backend)
    return _ENGINES[backend]


def run(engine: Engine, chunks: list[str], **options: object) -> tuple[str, Redactor]:
    redactor = Redactor(engine, **options)  # type: ignore[arg-type]
    out = [redactor.feed(chunk) for chunk in chunks]
    out.append(redactor.flush())
    return "".join(out), redactor


LONG_LINE = "x" * 300 + f" password={PASSWORD_VALUE} " + "y" * 200 + GH_TOKEN + "z" * 90 + "\n"
SAMPLES = [
    LOG,
    LONG_LINE + LOG,
    "no newline at end " + GH_TOKEN,
    f"{SLACK_TOKEN}\n\n\nopaque-Val-9f3kQ2 b3BhcXVlLVZhbC05ZjNrUTI= \n",
    "noise -----BEGIN RSA PRIVATE KEY----- but no key follows\nline2\n",
    "€ ünïcode " + GH_TOKEN + " ✓\r\nwindows line\r\n",
]


def test_redacts_every_secret_and_keeps_the_rest(engine: Engine) -> None:
    """Secrets become markers; every other character is unchanged."""
    out, _ = run(engine, [LOG])
    for secret in (GH_TOKEN, SLACK_TOKEN, PASSWORD_VALUE, "MIIEowIBAAKCAQEAu1SU1Lf"):
        assert secret not in out
    assert "export GITHUB_TOKEN=[REDACTED:test-github-pat]\n" in out
    assert '"db_password":"[REDACTED:test-generic-password]"' in out
    assert "sha=3f786850e387550fdab836ed7e6dc881de23001b" in out  # a git SHA is not a secret
    assert "password = changeme" in out


def test_private_key_is_one_block_and_lines_are_kept(engine: Engine) -> None:
    """A PEM key becomes one marker followed by the newlines it covered."""
    out, red = run(engine, [LOG])
    assert "[REDACTED:test-private-key]\n\n\n\n\npassword = changeme" in out
    assert out.count("\n") == LOG.count("\n")
    (pem,) = [f for f in red.findings if f.rule == "test-private-key"]
    assert pem.line == 6 and pem.start == 0


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_split_offset_gives_the_one_shot_output(backend: str, sample: str) -> None:
    """The same input split in two at every offset redacts exactly like one feed."""
    engine = engine_for(backend)
    expected, _ = run(engine, [sample], max_line_length=SMALL_LINE)
    for cut in range(len(sample) + 1):
        got, _ = run(engine, [sample[:cut], sample[cut:]], max_line_length=SMALL_LINE)
        assert got == expected, cut


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(SAMPLES + [GH_TOKEN, "\n", "password=", PASSWORD_VALUE, PEM_BLOCK, "x" * 130]), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    backend=st.sampled_from(["hyperscan", "python"]),
)
def test_any_chunking_gives_the_same_output(parts: list[str], cuts: list[int], backend: str) -> None:
    """Any chunking of the same input yields the same redacted text as one-shot."""
    engine = engine_for(backend)
    text = "".join(parts)
    expected, one = run(engine, [text], max_line_length=SMALL_LINE)
    bounds = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)])]
    got, many = run(engine, chunks, max_line_length=SMALL_LINE)
    assert got == expected
    assert got.count("\n") == text.count("\n")
    assert [(f.line, f.start, f.rule) for f in many.findings] == [
        (f.line, f.start, f.rule) for f in one.findings
    ]


def test_secret_across_window_edge_is_caught(engine: Engine) -> None:
    """A secret straddling a long line's window boundary is still redacted."""
    for pad in range(SMALL_LINE - 45, SMALL_LINE + 5):
        text = "k" * pad + " " + GH_TOKEN + " tail\n"
        out, _ = run(engine, [text], max_line_length=SMALL_LINE)
        assert GH_TOKEN not in out and out.count("\n") == 1, pad


def test_buffer_stays_bounded_on_a_huge_line_and_a_long_stream(engine: Engine) -> None:
    """Internal buffering never exceeds the bound, however long the line or stream."""
    redactor = Redactor(engine, max_line_length=SMALL_LINE)
    peak = 0
    emitted = 0
    block = ("a1b2c3 " * 40) + GH_TOKEN + " "  # no newline: one line of ~600 KB below
    for _ in range(2000):
        emitted += len(redactor.feed(block))
        peak = max(peak, redactor.buffered)
    for _ in range(2000):
        emitted += len(redactor.feed(LOG[:97]))  # lines cut at odd places
        peak = max(peak, redactor.buffered)
    emitted += len(redactor.flush())
    assert peak <= redactor.bound
    assert redactor.bound < 20_000
    assert emitted > 500_000


def test_block_mode_withholds_lines(engine: Engine) -> None:
    """Block mode replaces each line holding a secret and counts them."""
    out, red = run(engine, [LOG], mode="block")
    lines = out.split("\n")
    assert lines[1] == "[WITHHELD:test-github-pat]"
    assert lines[5:10] == ["[WITHHELD:test-private-key]"] * 5
    assert red.withheld_lines == 7
    assert len(lines) == len(LOG.split("\n"))


def test_report_mode_passes_text_through(engine: Engine) -> None:
    """Report mode changes nothing and lists findings with 1-based lines, 0-based columns."""
    out, red = run(engine, [LOG], mode="report")
    assert out == LOG
    first = red.findings[0]
    assert (first.line, first.start, first.end, first.rule) == (2, 20, 60, "test-github-pat")
    assert LOG.split("\n")[1][first.start : first.end] == GH_TOKEN


def test_custom_marker() -> None:
    """The replacement text is configurable."""
    engine = engine_for("python")
    assert redact_text(engine, f"t={GH_TOKEN}", marker="***") == "t=***"


def test_known_values_in_encoded_forms_are_redacted(engine: Engine) -> None:
    """A registered value is redacted plain, JSON-escaped, URL-encoded and in base64."""
    known = KnownValues()
    value = 'pa"ss wo/rd+9Zq'
    known.add(value)
    eng = Engine(RULES, known, backend=engine.backend)
    import base64
    import json
    from urllib.parse import quote

    text = (
        f"plain {value}\njson {json.dumps(value)}\nurl {quote(value, safe='')}\n"
        f"b64 {base64.b64encode(value.encode()).decode()}\n"
        f"b64-in-blob {base64.b64encode(b'xy' + value.encode() + b'tail').decode()}\n"
    )
    out = redact_text(eng, text)
    assert "pa\"ss" not in out and "pa\\\"ss" not in out and "pa%22ss" not in out
    assert out.count("[REDACTED:known-value]") == 5


@pytest.mark.parametrize("sample", SAMPLES)
def test_output_does_not_depend_on_keeping_findings(backend: str, sample: str) -> None:
    """Skipping findings (a pure redaction pipeline) changes nothing in the redacted text."""
    engine = engine_for(backend)
    kept, _ = run(engine, [sample], max_line_length=SMALL_LINE)
    lean, red = run(engine, [sample], max_line_length=SMALL_LINE, keep_findings=False)
    assert lean == kept and red.findings == []
