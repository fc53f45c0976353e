from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from scanners.errors import KnownValueRejected
from scanners.known import KnownValues, forms_of

VALUE = "Tq7/v+x9 K2&m=Lw"


def spans_text(known: KnownValues, text: str) -> list[str]:
    return sorted(text[s.start : s.end] for s in known.spans(text))


@pytest.mark.parametrize(
    "form",
    [
        VALUE,
        json.dumps(VALUE)[1:-1],
        quote(VALUE, safe=""),
        quote_plus(VALUE, safe=""),
        base64.b64encode(VALUE.encode()).decode().rstrip("="),
    ],
)
def test_each_form_is_found(form: str) -> None:
    """Plain, JSON-escaped, URL-encoded and base64 forms are all found."""
    known = KnownValues()
    known.add(VALUE)
    text = f"prefix {form} suffix"
    found = known.spans(text)
    assert found and all(s.rule == "known-value" for s in found)
    assert any(form.startswith(text[s.start : s.end]) for s in found)


@pytest.mark.parametrize("lead", [b"", b"a", b"ab", b"abc", b"abcd"])
def test_base64_found_at_every_alignment_inside_a_blob(lead: bytes) -> None:
    """The value is found inside a longer base64 blob whatever its byte offset."""
    known = KnownValues()
    known.add(VALUE)
    blob = base64.b64encode(lead + VALUE.encode() + b"-trailing-bytes").decode()
    assert known.spans(blob), lead


def test_json_form_with_escapes() -> None:
    """Quotes and backslashes in a value are found in their JSON-escaped form."""
    known = KnownValues()
    value = 'a"b\\c-9Xq!zR'
    known.add(value)
    doc = json.dumps({"password": value})
    assert spans_text(known, doc) == [json.dumps(value)[1:-1]]


@pytest.mark.parametrize(
    ("value", "why"),
    [("true", "shorter"), ("{", "shorter"), ("1234567", "shorter"), ("aaaaaaaaaaaaaaaa", "predictable"),
     ("abababababababab", "predictable")],
)
def test_short_or_predictable_values_are_refused(value: str, why: str) -> None:
    """Values that would mask ordinary text are refused with a typed error naming the source."""
    known = KnownValues()
    with pytest.raises(KnownValueRejected) as info:
        known.add(value, source="$API_TOKEN")
    assert why in str(info.value) and "$API_TOKEN" in str(info.value)
    assert value not in str(info.value) or len(value) < 2
    assert info.value.code == "known_value_rejected"
    assert len(known) == 0


def test_clear_value_is_not_held() -> None:
    """Only short anchors and keyed MACs are kept, never the whole value or a plain hash."""
    known = KnownValues()
    known.add(VALUE)
    held = repr(vars(known))
    for form in forms_of(VALUE):
        assert form not in held


def test_multi_line_values_register_each_line() -> None:
    """A multi-line secret (a certificate, a key file) is matched line by line."""
    known = KnownValues()
    known.add("first-line-Xk29q\nsecond-line-Pw83z\n")
    assert spans_text(known, "x first-line-Xk29q y second-line-Pw83z") == [
        "first-line-Xk29q",
        "second-line-Pw83z",
    ]


def test_different_instances_use_different_keys() -> None:
    """Fingerprints are keyed per process/instance: equal MACs do not leak across sets."""
    a, b = KnownValues(), KnownValues()
    a.add(VALUE)
    b.add(VALUE)
    assert a._by_anchor != b._by_anchor
