"""The satellite and the ground station never import each other, nor the simulator's truth.

Checked twice: statically, over the import graph of the package's source (``ast``), and at
run time, by importing each actor alone in a fresh interpreter and looking at
``sys.modules``.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from satqkd.protocol.ground import GroundStation
from satqkd.protocol.satellite import Satellite

SATELLITE = "satqkd.protocol.satellite"
GROUND = "satqkd.protocol.ground"
# The simulator proper (it holds the photon-level truth); its record types are data only.
SIMULATOR = ("satqkd.simulate.engine", "satqkd.simulate.pass_simulation",
             "satqkd.simulate.channel", "satqkd.protocol.run", "satqkd.protocol.session")


PACKAGE_ROOT = Path(importlib.util.find_spec("satqkd").origin).parent  # type: ignore[union-attr, arg-type]


def module_path(name: str) -> Path | None:
    """The source file of ``satqkd`` module ``name`` (None: not a module, e.g. a class)."""
    base = PACKAGE_ROOT.parent.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def direct_imports(name: str) -> set[str]:
    """``satqkd`` modules that module ``name`` imports (module level and inside functions)."""
    path = module_path(name)
    if path is None:
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("satqkd") and module_path(m) is not None}


def import_closure(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        parts = mod.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages
        todo.extend(direct_imports(mod) - seen)
    return seen


def test_the_graph_walker_sees_real_imports() -> None:
    """The check below must be able to fail: the session runner imports both actors."""
    closure = import_closure("satqkd.protocol.session")
    assert SATELLITE in closure and GROUND in closure


@pytest.mark.parametrize(("actor", "other"), [(SATELLITE, GROUND), (GROUND, SATELLITE)])
def test_actor_source_never_imports_the_other(actor: str, other: str) -> None:
    closure = import_closure(actor)
    assert other not in closure
    assert not set(SIMULATOR) & closure


@pytest.mark.parametrize(("actor", "other"), [(SATELLITE, GROUND), (GROUND, SATELLITE)])
def test_importing_one_actor_does_not_load_the_other(actor: str, other: str) -> None:
    code = ("import json, sys, importlib; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('satqkd'))))")
    out = subprocess.run([sys.executable, "-c", code, actor], capture_output=True, text=True,
                         check=True)
    loaded = set(json.loads(out.stdout))
    assert actor in loaded
    assert other not in loaded
    assert not set(SIMULATOR) & loaded


def test_actors_take_only_their_own_data() -> None:
    """The satellite is built from its randomness, the ground from its own record."""
    sat = set(inspect.signature(Satellite).parameters)
    ground = set(inspect.signature(GroundStation).parameters)
    assert "record" not in sat and "randomness" in sat
    assert "randomness" not in ground and "record" in ground
    assert not {"truth", "simulation"} & (sat | ground)
