"""The policy table of docs/policy.md, read from the document itself, and what it expects of each cell.

The policy matrix tests (tests/rooms/test_policy_matrix.py at booking, tests/signalling/
test_policy_matrix.py at arrival) hold the code to this table, not to `rooms.policy`: what
integrators read is what the server does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from rooms.model import ConferencingModel, Party, Role

__all__ = ["CELLS", "TABLE", "Cell", "Row", "read_table"]

DOC = Path(__file__).resolve().parents[1] / "docs" / "policy.md"
#: The table's words for parties ("nobody" waits in A2A).
WORDS = {"administration": Party.ADMINISTRATION, "citizen": Party.CITIZEN, "citizens": Party.CITIZEN,
         "business": Party.BUSINESS}
HEADER = ["model", "who asked", "parties admitted", "who may host", "waits in the lobby", "identity",
          "recording by default"]


@dataclass(frozen=True, slots=True)
class Row:
    """One model's row: who may take part, who may host, who waits in the lobby."""

    model: ConferencingModel
    parties: frozenset[Party]
    hosts: frozenset[Party]
    lobby: frozenset[Party]
    identity: str  # the API's word: "staff" or "link"
    recording: bool


def _parties(text: str) -> frozenset[Party]:
    return frozenset() if text == "nobody" else frozenset(WORDS[word.strip()] for word in text.split(","))


def read_table(doc: Path = DOC) -> dict[ConferencingModel, Row]:
    """The rows of the first table of docs/policy.md (it must keep its columns: they are checked)."""
    lines = [line for line in doc.read_text().splitlines() if line.startswith("|")]
    assert [c.strip() for c in lines[0].strip("|").split("|")] == HEADER, "docs/policy.md's table changed"
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] not in ConferencingModel.__members__:
            break  # the next table (limits by kind)
        model = ConferencingModel(cells[0])
        identity = "staff" if "staff" in cells[5] else "link"
        assert cells[6] in ("on", "off"), cells[6]
        rows[model] = Row(model, _parties(cells[2]), _parties(cells[3]), _parties(cells[4]), identity,
                          cells[6] == "on")
    return rows


TABLE = read_table()


@dataclass(frozen=True, slots=True)
class Cell:
    """One model, party and role, and what the table says of them."""

    model: ConferencingModel
    party: Party
    role: Role

    @property
    def id(self) -> str:
        return f"{self.model.value}-{self.party.value}-{self.role.value}"

    @property
    def refused_field(self) -> str | None:
        """The participant field a booking of this cell is refused for (``party`` or ``role``), or None."""
        row = TABLE[self.model]
        if self.party not in row.parties:
            return "party"
        if self.role is Role.HOST and self.party not in row.hosts:
            return "role"
        return None

    def waits(self, locked: bool) -> bool:
        """Whether this participant arrives waiting: a lobby party (or anyone in a locked room), never a host."""
        return self.role is not Role.HOST and (locked or self.party in TABLE[self.model].lobby)


#: Every model by party by role.
CELLS = [Cell(m, p, r) for m, p, r in itertools.product(ConferencingModel, Party, Role)]
