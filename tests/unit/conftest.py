"""Fixtures shared by the unit tests: the local fake AI-vendor server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.vendors import FakeVendors, running_fake_vendors


@pytest.fixture(scope="module")
def vendors() -> Iterator[FakeVendors]:
    """One fake vendor server per test module."""
    with running_fake_vendors() as fake:
        yield fake


@pytest.fixture
def fake(vendors: FakeVendors) -> FakeVendors:
    """The module's fake vendor server, reset (no failures, delays or recorded requests)."""
    vendors.reset()
    return vendors
