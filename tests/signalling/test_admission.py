"""Admission control of a media worker: the two refusals, counted and logged once per burst."""

from __future__ import annotations

import logging
import resource

import pytest

from signalling.admission import Admission, open_descriptors
from signalling.errors import ServerBusy


def test_below_the_limits_a_peer_is_admitted() -> None:
    Admission(max_peers=10).check(peers=9)


def test_a_full_worker_refuses() -> None:
    admission = Admission(max_peers=10)
    with pytest.raises(ServerBusy, match="maximum of 10"):
        admission.check(peers=10)
    assert admission.refused == 1


def test_a_worker_short_of_descriptors_refuses(caplog: pytest.LogCaptureFixture) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    admission = Admission(fd_reserve=soft - open_descriptors() + 1)  # one more open file passes the limit
    with caplog.at_level(logging.WARNING, logger="signalling.admission"), pytest.raises(ServerBusy) as info:
        admission.check(peers=0)
    assert "file descriptors" in info.value.detail
    assert info.value.status == 503 and info.value.retry_after == 30
    for _ in range(50):  # a flood of refusals logs one line, not fifty
        with pytest.raises(ServerBusy):
            admission.check(peers=0)
    assert len([r for r in caplog.records if r.name == "signalling.admission"]) == 1
    assert admission.refused == 51


def test_open_descriptors_counts_this_process() -> None:
    before = open_descriptors()
    with open(__file__):
        assert open_descriptors() == before + 1
