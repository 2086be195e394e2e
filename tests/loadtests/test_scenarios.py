"""bench_rooms scenario lines: what each means, and a clear error for a bad one."""

from __future__ import annotations

import pytest

from loadtests.bench_rooms import Scenario, parse_args


@pytest.mark.parametrize(
    ("text", "rooms", "size", "streams", "publishers"),
    [
        ("broadcast:32", 1, 32, 32, 1),
        ("broadcast:4x99", 4, 99, 396, 4),
        ("broadcast:299", 1, 299, 299, 1),
        ("meeting:12", 1, 12, 132, 12),
        ("rooms:50x2", 50, 2, 100, 100),
    ],
)
def test_scenarios(text: str, rooms: int, size: int, streams: int, publishers: int) -> None:
    scenario = Scenario.parse(text)
    assert (scenario.rooms, scenario.size, scenario.streams, scenario.publishers) == (rooms, size, streams,
                                                                                       publishers)


@pytest.mark.parametrize("text", ["", "meeting", "meeting:2x6", "meeting:1", "meeting:101", "rooms:0x2",
                                  "rooms:ax2", "broadcast:300", "broadcast:0", "party:5", "rooms:2x"])
def test_bad_scenarios_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="bad scenario"):
        Scenario.parse(text)


def test_the_command_line_names_the_bad_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--scenarios", "meeting:6,rooms:3"])
    assert exit_.value.code == 2
    assert "bad scenario 'rooms:3'" in capsys.readouterr().err
