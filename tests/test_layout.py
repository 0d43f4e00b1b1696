"""The package's layout holds: stages import only earlier stages, no import cycle, and reading
shards needs neither the corpus units nor the code that builds manifests (docs/architecture.md)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "aggregate"

# Each top-level module or package of aggregate/, by stage, in the order data flows through them.
# A module may import its own stage and earlier ones, never a later one.
STAGES = [
    ("the fixed vocabularies", {"__init__", "vocabulary"}),
    ("plumbing every stage uses", {"errors", "files", "owned", "progress", "options", "audio"}),
    ("the corpus units", {"corpora"}),
    ("building the manifest", {"manifest"}),
    ("the feature recipe", {"recipe"}),
    ("the views of a clip", {"views"}),
    ("the shards format", {"shards"}),
    ("rendering", {"render"}),
    ("reading shards", {"dataset"}),
    ("the data card", {"report"}),
    ("the demo corpora", {"demo"}),
    ("the command line", {"cli", "__main__"}),
]
RANK = {top: rank for rank, (_, tops) in enumerate(STAGES) for top in tops}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST, top_level: bool = False):
    """Every node but those under ``if TYPE_CHECKING:`` (annotations only: never imported at run time);
    with ``top_level``, none inside a function either (what importing the module itself runs)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", getattr(child.test, "attr", None)) == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            if top_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            stack.append(child)


def imports_of(name: str, top_level: bool = False) -> set[str]:
    """The aggregate modules ``name`` imports at run time, at the top or inside a function
    (``top_level``: at the top only)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8")), top_level):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            # "from pkg import sub" imports the submodule pkg.sub where there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # aggregate.x.Name -> aggregate.x
                target = target.rpartition(".")[0]
            if target.startswith("aggregate") and target != name:
                found.add(target)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}
ON_IMPORT = {name: imports_of(name, top_level=True) for name in MODULES}


def stage_of(name: str) -> int:
    parts = name.split(".")
    return RANK[parts[1]] if len(parts) > 1 else RANK["__init__"]


def test_every_top_level_module_has_a_stage():
    tops = {name.split(".")[1] for name in MODULES if "." in name}
    assert tops <= set(RANK), f"give {sorted(tops - set(RANK))} a stage in STAGES (and docs/architecture.md)"


def test_no_module_imports_a_later_stage():
    late = [f"{name} ({STAGES[stage_of(name)][0]}) imports {target} ({STAGES[stage_of(target)][0]})"
            for name, targets in GRAPH.items() for target in sorted(targets) if stage_of(target) > stage_of(name)]
    assert not late, "\n".join(late)


def test_no_import_cycle():
    def walk(node: str, trail: list[str]) -> list[str] | None:
        for target in sorted(GRAPH[node]):
            if target in trail:
                return trail[trail.index(target):] + [target]
            if target not in done:
                cycle = walk(target, trail + [target])
                if cycle:
                    return cycle
        done.add(node)
        return None

    done: set[str] = set()
    for name in MODULES:
        cycle = walk(name, [name])
        assert cycle is None, " -> ".join(cycle)


def closure(name: str) -> set[str]:
    """What importing ``name`` imports, directly or not (a package's parents included, as Python does)."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        parents = {".".join(current.split(".")[:i]) for i in range(1, current.count(".") + 1)}
        for target in ON_IMPORT[current] | (parents & set(MODULES)):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("forbidden", ["aggregate.corpora", "aggregate.manifest.build", "aggregate.render"])
def test_reading_shards_imports_neither_corpus_units_nor_manifest_building(forbidden):
    """``ShardsFolder.manifest()`` reads the manifest copy on request, importing its format then: never
    on the way to the features."""
    reached = {m for m in closure("aggregate.dataset") if m == forbidden or m.startswith(forbidden + ".")}
    assert not reached, f"aggregate.dataset reaches {sorted(reached)}"


@pytest.mark.slow
def test_importing_shard_dataset_loads_no_corpus_unit_and_no_manifest_code():
    code = ("import sys; from aggregate.dataset import ShardDataset; "
            "print(sorted(m for m in sys.modules if m.startswith(('aggregate.corpora', 'aggregate.manifest'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert out.stdout.strip() == "[]"


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The checks above would pass vacuously if the walk missed imports; hold it to a known one."""
    assert "aggregate.manifest.format" in GRAPH["aggregate.shards.reading"]  # inside ShardsFolder.manifest
    assert "aggregate.corpora.policy" not in GRAPH["aggregate.corpora.tess"]  # under TYPE_CHECKING only
