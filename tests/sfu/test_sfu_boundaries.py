"""The sfu package's boundaries: media only, and aiortc internals in one module only."""

from __future__ import annotations

import ast
from pathlib import Path

import sfu

SFU_DIR = Path(sfu.__file__).parent
PROJECT_PACKAGES = {"konsylium", "rooms", "signalling", "telemed", "web", "loadtests"}
INTERNALS = "aiortc_internals.py"


def _modules() -> list[Path]:
    files = sorted(SFU_DIR.glob("*.py"))
    assert len(files) > 5
    return files


def test_sfu_imports_nothing_else_of_the_project() -> None:
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in PROJECT_PACKAGES, f"{path.name} imports {name}"


def test_only_aiortc_internals_touches_private_aiortc_api() -> None:
    for path in _modules():
        if path.name == INTERNALS:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(("aiortc", "aioice")), (
                        f"{path.name}: `import {alias.name}`; use `from aiortc import <public name>`"
                    )
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.module != "aioice" and not node.module.startswith(("aioice.", "aiortc.")), (
                    f"{path.name} imports from {node.module}: private aiortc/aioice API belongs in {INTERNALS}"
                )
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                assert isinstance(owner, ast.Name) and owner.id in {"self", "cls"}, (
                    f"{path.name}:{node.lineno} reads private attribute .{node.attr} of another object"
                )


def test_every_module_declares_all_and_future_annotations() -> None:
    for path in _modules():
        text = path.read_text()
        assert "from __future__ import annotations" in text, path.name
        assert "__all__" in text, path.name
