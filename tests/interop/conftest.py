"""The live node fixtures of the signalling tests, shared with the interoperability tests."""

from __future__ import annotations

from tests.signalling.conftest import live

__all__ = ["live"]
