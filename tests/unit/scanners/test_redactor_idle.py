"""Idle flush: an unfinished line (a prompt, a progress bar) shows early, never a secret."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence

import pytest

from scanners.engine import Engine
from scanners.holdback import hold_plan
from scanners.known import KnownValues
from scanners.redactor import Redactor
from scanners.rule import Rule
from scanners.rules import ALL_RULES
from scanners.stream import redact_stream
from tests.unit.scanners.ruleset import GH_TOKEN, PASSWORD_VALUE, PEM_BLOCK, RULES
from tests.unit.scanners.samples import github_pat

SPACED = "my secret pass phrase 42!"  # a known value holding spaces


@pytest.fixture(scope="module")
def catalogue() -> Engine:
    known = KnownValues()
    known.add(SPACED, source="TEST")
    return Engine(ALL_RULES, known)


def steps(engine: Engine, script: Sequence[str | None], **options: object) -> list[str]:
    """Feed each string; None is an idle point. Returns what each step emitted (flush last)."""
    redactor = Redactor(engine, eager_cr=True, **options)  # type: ignore[arg-type]
    out = [redactor.idle() if step is None else redactor.feed(step) for step in script]
    return [*out, redactor.flush()]


def plain(engine: Engine, text: str, **options: object) -> str:
    redactor = Redactor(engine, **options)  # type: ignore[arg-type]
    return redactor.feed(text) + redactor.flush()


def test_prompt_shows_when_idle_and_the_answer_is_redacted(catalogue: Engine) -> None:
    """'Password: ' appears at the idle point; the value typed after it is still redacted."""
    out = steps(catalogue, ["Password: ", None, "Zq8v-Lp2w.Xr9k\n"])
    assert out[1] == "Password: "
    assert out[2] == "[REDACTED:generic-password-unquoted]\n"
    assert "".join(out) == plain(catalogue, "Password: Zq8v-Lp2w.Xr9k\n")


def test_without_idle_the_prompt_waits_for_its_newline(catalogue: Engine) -> None:
    """The default redactor (no idle call, no eager_cr) keeps holding an unfinished line."""
    redactor = Redactor(catalogue)
    assert redactor.feed("Continue? [y/N] ") == ""
    assert redactor.feed("10%\r20%\r") == ""


def test_token_split_across_the_idle_point_is_redacted(catalogue: Engine) -> None:
    """The token's first half is held at the idle point and matched with its second half."""
    token = github_pat()
    out = steps(catalogue, ["export GH=", None, "x " + token[:12], None, token[12:], None, " ok\n"])
    assert out[1] == "export "  # up to the last whitespace
    assert out[3] == "GH=x "
    assert out[5] == ""
    text = "".join(out)
    assert token[:8] not in text
    assert text == "export GH=x [REDACTED:github-personal-access-token] ok\n"


def test_known_value_with_spaces_is_held_from_its_start(catalogue: Engine) -> None:
    """A known value holding spaces is never cut at one of them."""
    out = steps(catalogue, ["done: my secret pass", None, " phrase 42! bye\n"])
    assert out[1] == "done: "
    assert "".join(out) == "done: [REDACTED:known-value] bye\n"


def test_progress_redraws_stream_at_each_carriage_return(catalogue: Engine) -> None:
    """A progress bar's frames are written as each '\\r' arrives, with no idle wait."""
    frames = ["\r 10% |##        |", "\r 20% |####      |", "\r 30% |######    |"]
    out = steps(catalogue, [*frames, "\n"])
    assert out[0] == "\r"
    assert out[1] == frames[0][1:] + "\r"
    assert out[2] == frames[1][1:] + "\r"
    assert "".join(out) == "".join(frames) + "\n"


def test_a_token_after_a_carriage_return_is_held(catalogue: Engine) -> None:
    """'\\r' is a cut point, but what follows it is still held until it is safe."""
    token = github_pat()
    out = steps(catalogue, ["\rstep 1 token=" + token[:20], None, token[20:] + "\r", "\n"])
    assert token[:6] not in "".join(out)
    assert "".join(out) == "\rstep 1 token=[REDACTED:github-personal-access-token]\r\n"


def test_block_mode_withholds_the_rest_of_a_shown_line(catalogue: Engine) -> None:
    """Block mode: the shown prompt stays, the rest of its line becomes one marker."""
    redactor = Redactor(catalogue, mode="block", eager_cr=True)
    assert redactor.feed("Password: ") == ""
    assert redactor.idle() == "Password: "
    assert redactor.feed("Zq8v-Lp2w.Xr9k and more") == ""
    rest = redactor.feed(" words\nnext line\n") + redactor.flush()
    assert rest == "[WITHHELD:generic-password-unquoted]\nnext line\n"
    assert redactor.withheld_lines == 1


def test_block_mode_hides_text_shown_after_the_finding(catalogue: Engine) -> None:
    """Once a line is withheld, later idle flushes show nothing more of it."""
    token = github_pat()
    out = steps(catalogue, [f"ok {token} x ", None, "tail ", None, "end\nnext\n"], mode="block")
    assert out[1] == "[WITHHELD:github-personal-access-token]"
    assert out[3] == ""
    assert "".join(out) == "[WITHHELD:github-personal-access-token]\nnext\n"


def test_pem_block_after_a_shown_prefix_is_one_marker() -> None:
    """A private key starting on a line whose beginning was shown is still redacted whole."""
    engine = Engine(RULES, backend="python")
    text = "key follows: " + PEM_BLOCK + "after\n"
    out = steps(engine, ["key follows: -----BEG", None, text[len("key follows: -----BEG") :]])
    assert out[1] == "key follows: "
    assert "".join(out) == plain(engine, text)
    assert "MIIEowIBAAKCAQEA" not in "".join(out)


def test_findings_of_a_shown_line_keep_their_columns() -> None:
    """Report mode: a finding after an idle flush is reported once, at its real column."""
    engine = Engine(RULES, backend="python")
    redactor = Redactor(engine, mode="report", eager_cr=True)
    redactor.feed("first\nexport X=")
    redactor.idle()
    redactor.feed("y " + GH_TOKEN + " z\n")
    redactor.flush()
    (finding,) = redactor.findings
    assert (finding.line, finding.start) == (2, len("export X=y "))


def test_a_rule_whose_secret_holds_spaces_is_held_from_its_literal() -> None:
    """A rule failing the whitespace audit (its secret may hold spaces) is held from its lead."""
    spaced = Rule(
        id="test-spaced",
        description="phrase after a marker",
        pattern=r"PHRASE\((?P<secret>[a-z ]{12,40})\)",
        keywords=("phrase(",),
    )
    engine = Engine((*RULES, spaced), backend="python")
    out = steps(engine, ["log PHRASE(open sesame ", None, "please)\n"])
    assert out[1] == "log "
    assert "".join(out) == "log PHRASE([REDACTED:test-spaced])\n"


def test_every_catalogue_rule_is_audited_or_held_by_a_literal() -> None:
    """No rule in the catalogue forces holding the line's tail blindly (prompts would vanish)."""
    plan = hold_plan(tuple(ALL_RULES))
    assert plan.blind == 0
    held = {lead for leads, _ in plan.literals for lead in leads}
    assert "server=" in held  # ADO.NET passwords may hold spaces
    assert "-----begin rsa private key-----" in held


def test_password_flag_value_arriving_later_is_redacted(catalogue: Engine) -> None:
    """`--password ` is shown, the value after it is held and then redacted with its key."""
    out = steps(catalogue, ["$ deploy --password ", None, PASSWORD_VALUE + "\n"])
    assert out[1] == "$ deploy --password "
    assert PASSWORD_VALUE not in "".join(out)
    assert "".join(out) == plain(catalogue, "$ deploy --password " + PASSWORD_VALUE + "\n")


class Sink(io.RawIOBase):
    """A writable stream that signals when given text has arrived."""

    def __init__(self) -> None:
        self.data = b""
        self.changed = threading.Condition()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        with self.changed:
            self.data += bytes(data)
            self.changed.notify_all()
        return len(data)

    def wait_for(self, text: bytes, timeout_s: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: text in self.data, timeout_s)


def test_stream_writes_the_prompt_while_the_input_stays_open() -> None:
    """redact_stream with idle_s writes 'Password: ' before the rest of the line exists."""
    read_fd, write_fd = os.pipe()
    sink = Sink()
    engine = Engine(RULES, backend="python")
    with os.fdopen(read_fd, "rb", buffering=0) as source:
        worker = threading.Thread(
            target=redact_stream,
            args=(source, sink, Redactor(engine, eager_cr=True)),
            kwargs={"idle_s": 0.05},
        )
        worker.start()
        try:
            os.write(write_fd, b"Password: ")
            assert sink.wait_for(b"Password: ", 10), "the prompt never showed"
            os.write(write_fd, PASSWORD_VALUE.encode() + b"\n")
        finally:
            os.close(write_fd)
            worker.join(10)
    assert sink.data == b"Password: [REDACTED:test-generic-password]\n"
