"""The architecture test: layers import downwards only, and no folder imports another in a cycle.

Layers, lowest first (README, "Folders")::

    core <- classifiers <- formats <- store <- pipelines <- app

A module may import its own layer and the layers below it. The check reads every module's
``import`` statements (also those inside functions) from the source files, mapped to their
installed names the way ``pyproject.toml``'s ``package-dir`` maps them, so it needs no
installed copy and sees exactly what is committed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: source folder -> installed package name (pyproject.toml [tool.setuptools] package-dir)
FOLDERS = {
    ROOT / "src" / "telescrub": "telescrub",
    ROOT / "classifiers": "telescrub.classifiers",
    ROOT / "pipelines": "telescrub.pipelines",
}
LAYERS = ("core", "classifiers", "formats", "store", "pipelines", "app")
#: modules of the root package (public API facade, ``python -m telescrub``) sit on top
TOP = len(LAYERS)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for folder, pkg in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([pkg, *parts])] = path
    return out


MODULES = _modules()


def _package(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = _package(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> set[str]:
    """The telescrub modules ``module`` imports (deepest existing name for each import)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    out = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("telescrub") and name != module:
            out.add(name)
    return out


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return TOP
    return LAYERS.index(parts[1])


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_is_in_a_layer() -> None:
    loose = [m for m in MODULES if layer_of(m) == TOP
             and m not in ("telescrub", "telescrub.__main__")]
    assert loose == [], f"modules outside the layers {LAYERS}: {loose}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_downwards(module: str) -> None:
    mine = layer_of(module)
    upward = sorted(m for m in GRAPH[module] if layer_of(m) > mine)
    assert upward == [], (
        f"{module} ({LAYERS[mine] if mine < TOP else 'top'}) imports a higher layer: "
        + ", ".join(f"{m} ({LAYERS[layer_of(m)] if layer_of(m) < TOP else 'top'})"
                    for m in upward))


def test_no_folder_level_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        src = _package(module)
        for t in targets:
            dst = _package(t)
            if dst != src and not src.startswith(dst + "."):  # a child may use its parent
                edges.setdefault(src, set()).add(dst)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == [], "folder-level import cycles: " + "; ".join(
        " -> ".join(c) for c in cycles)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The test can fail: a core module importing the app layer is reported."""
    fake = "telescrub.core._fake"
    MODULES[fake] = tmp_path / "_fake.py"
    MODULES[fake].write_text("from telescrub.app import cli\n", encoding="utf-8")
    try:
        assert "telescrub.app.cli" in _imports(fake)
        assert layer_of("telescrub.app.cli") > layer_of(fake)
    finally:
        del MODULES[fake]


def test_a_checkout_cannot_shadow_the_installed_package() -> None:
    """Worker processes started from the repository root put it on ``sys.path``: a
    ``telescrub/`` folder there would be imported instead of the installed package (which has
    the mapped ``pipelines``/``classifiers`` subpackages). The package lives in ``src/``."""
    import subprocess
    import sys

    assert not (ROOT / "telescrub").exists()
    out = subprocess.run(
        [sys.executable, "-c", "import telescrub.pipelines.scrub_files as m, telescrub as t;"
         "print(t.__file__); print(m.__file__)"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert all(not p.startswith(str(ROOT / "telescrub") + "/") for p in out), out
