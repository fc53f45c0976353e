"""Session-scoped local OIDC issuers: the trusted one and a stranger the broker does not know."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.issuer import Issuer


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    with Issuer(audience="sluice") as running:
        yield running


@pytest.fixture(scope="session")
def stranger_issuer() -> Iterator[Issuer]:
    """Same shape, own keys, not in any broker config."""
    with Issuer(audience="sluice") as running:
        yield running
