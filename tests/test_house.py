"""The house rules, read from the source (no imports run): no import cycle inside tfx_models (imports
inside functions included), no private name used across modules, nothing imports `serving`, and
tfx_models never imports beam_pipelines, and beam_pipelines reads and writes data
only through Beam's FileSystems (its cluster helpers keep their logs and state locally).

tfx_models/registry.py and tfx_models/config/ are leaves; kinds register themselves and the
factory imports them (docs/adding_a_model_family.md). serving/ is a consumer at the top.
"""
from __future__ import annotations

import ast
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = ("tfx_models", "serving", "beam_pipelines", "media", "results", "benchmarks")


def module_files(root: str) -> dict[str, str]:
    """Dotted module name -> path, for every .py under REPO/root (packages by their __init__)."""
    found = {}
    for folder, _, files in os.walk(os.path.join(REPO, root)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    return found


def parsed(*roots: str) -> list[tuple[str, str, ast.AST]]:
    """(module, path, syntax tree) of every module under the roots."""
    modules = {}
    for root in roots:
        modules.update(module_files(root))
    result = []
    for name, path in sorted(modules.items()):
        with open(path) as f:
            result.append((name, path, ast.parse(f.read(), path)))
    return result


def imports(tree: ast.AST, modules: set[str]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import anywhere in the tree, a `from X import m`
    of a submodule m counting as an import of X.m."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = []
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules:
                    found.append((f"{node.module}.{alias.name}", []))
                else:
                    names.append(alias.name)
            if names:
                found.append((node.module, names))
    return found


def test_tfx_models_has_no_import_cycle():
    trees = parsed("tfx_models")
    modules = {name for name, _, _ in trees}
    graph = {name: {target for target, _ in imports(tree, modules) if target in modules and target != name}
             for name, _, tree in trees}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a path that returns to its start, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_crosses_a_module():
    trees = parsed(*PROJECT)
    modules = {name for name, _, _ in trees}
    offences = []
    for name, path, tree in trees:
        bound = {}  # local name -> project module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname:
                        bound[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PROJECT:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in modules:
                        bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    elif private(alias.name):
                        offences.append(f"{path}:{node.lineno}: from {node.module} import {alias.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and private(node.attr) and isinstance(node.value, ast.Name) \
                    and node.value.id in bound:
                offences.append(f"{path}:{node.lineno}: {node.value.id}.{node.attr} ({bound[node.value.id]})")
    assert not offences, "private names used across modules:\n" + "\n".join(offences)


def test_nothing_imports_serving():
    trees = parsed(*PROJECT)
    modules = {name for name, _, _ in trees}
    offences = [f"{path}: imports {target}" for name, path, tree in trees if name.split(".")[0] != "serving"
                for target, _ in imports(tree, modules) if target.split(".")[0] == "serving"]
    assert not offences, "serving is a consumer at the top; nothing imports it:\n" + "\n".join(offences)


def test_tfx_models_never_imports_beam_pipelines():
    """Layers point down: what evaluation needs of the benchmark travels in dataset_info.json."""
    trees = parsed(*PROJECT)
    modules = {name for name, _, _ in trees}
    offences = [f"{path}: imports {target}" for name, path, tree in trees if name.split(".")[0] == "tfx_models"
                for target, _ in imports(tree, modules) if target.split(".")[0] == "beam_pipelines"]
    assert not offences, "tfx_models never imports beam_pipelines:\n" + "\n".join(offences)


def test_config_and_registry_are_leaves():
    trees = parsed("tfx_models")
    modules = {name for name, _, _ in trees}
    for leaf, allowed in (("tfx_models.config", "tfx_models.config"), ("tfx_models.registry", None)):
        for name, path, tree in trees:
            if name != leaf and not name.startswith(leaf + "."):
                continue
            targets = {t for t, _ in imports(tree, modules) if t.startswith("tfx_models")}
            outside = {t for t in targets if not (allowed and (t == allowed or t.startswith(allowed + ".")))}
            if leaf == "tfx_models.registry":
                outside -= {"tfx_models.config", "tfx_models.losses"}  # types only: leaves themselves
            assert not outside, f"{name} must not import {sorted(outside)}"


# The cluster helpers keep process logs and state on the launching machine, by design.
LOCAL_STATE = {"beam_pipelines.job", "beam_pipelines.local_processes", "beam_pipelines.prism_cluster",
               "beam_pipelines.dask_cluster"}
LOCAL_IO = {"open", "os.makedirs", "os.remove", "os.replace", "os.rename", "os.listdir", "os.walk",
            "shutil.copy", "shutil.copyfile", "shutil.move", "shutil.rmtree", "cv2.imwrite", "glob.glob"}


def called_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


def test_beam_pipelines_reads_and_writes_data_only_through_beams_filesystems():
    """gs:// and s3:// work only where a file goes through beam_pipelines.storage (FileSystems)."""
    offences = [f"{path}:{node.lineno}: {called_name(node)}()" for name, path, tree in parsed("beam_pipelines")
                if name not in LOCAL_STATE for node in ast.walk(tree)
                if isinstance(node, ast.Call) and called_name(node) in LOCAL_IO]
    assert not offences, "local-only file I/O in a Beam job or the renderer:\n" + "\n".join(offences)
