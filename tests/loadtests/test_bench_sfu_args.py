"""bench_sfu's command line: the N levels it accepts, and a clear error for the rest."""

from __future__ import annotations

import pytest

from loadtests.bench_sfu import parse_args


def test_defaults_measure_up_to_200_subscribers_against_both_janus_configurations() -> None:
    args = parse_args([])
    assert args.levels == [1, 8, 32, 99, 200]
    assert args.target_list == ["konsylium", "janus", "janus-el1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--subscribers", "8,lots"], "comma-separated whole numbers"),
        (["--subscribers", "0"], "every N from 1 to 299"),
        (["--subscribers", "300"], "every N from 1 to 299"),
        (["--targets", "konsylium,mediasoup"], "unknown targets: mediasoup"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
