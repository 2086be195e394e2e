"""The layer rule of DESIGN.md, checked on every import statement of the packages."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"konsylium", "signalling", "telemed", "council", "rooms", "sfu", "loadtests", "web", "tests"}
ALLOWED: dict[str, set[str]] = {
    "konsylium": {"signalling", "telemed", "council", "rooms", "sfu"},
    "signalling": {"rooms", "sfu"},
    # workflow packages plug into live rooms through signalling.workflow (the seam); never the reverse
    "telemed": {"signalling", "rooms"},
    "council": {"signalling", "rooms"},
    "rooms": set(),
    "sfu": set(),
    "loadtests": {"sfu"},  # public surfaces only: HTTP, subprocesses, the SFU API
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def test_every_package_imports_only_what_is_below_it() -> None:
    broken = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in imports_of(path) - allowed - {package}:
                broken.append(f"{path.relative_to(ROOT)} imports {target}")
    assert broken == [], "layer rule broken (DESIGN.md):\n" + "\n".join(broken)


def test_the_rule_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import rooms.model\nfrom sfu import x\nfrom . import y\nimport os\n")
    assert imports_of(sample) == {"rooms", "sfu"}
