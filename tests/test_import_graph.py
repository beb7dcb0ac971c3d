"""Imports run one way: core <- runtime (segmenter) <- training, handler; the gateway and the app on the core
only; nothing imports a package above it. Read from every module's import statements (ast), not by running it."""

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
OURS = {
    "roadseg",
    "segmenter",
    "training",
    "handler",
    "gateway",
    "stack",
    "benchmarks",
    "streamlit",
    "scripts",
    "docker",
}
# package -> the project packages its modules may import (itself included)
ALLOWED = {
    "roadseg": {"roadseg"},
    "segmenter": {"roadseg", "segmenter"},
    "training": {"roadseg", "segmenter", "training"},
    "handler": {"roadseg", "segmenter", "handler"},
    "gateway": {"roadseg", "gateway"},
    "streamlit": {"roadseg", "streamlit"},  # the app's modules import each other by bare name (app_*)
    "stack": {"roadseg", "handler", "stack"},
    "scripts": {"roadseg", "stack", "scripts"},
    "docker": {"docker"},
    "benchmarks": {"roadseg", "segmenter", "training", "handler", "gateway", "stack", "benchmarks"},
}
OURS = set(ALLOWED)
APP_MODULES = {p.stem for p in (REPO_ROOT / "streamlit").glob("*.py")}


def imported_packages(path: Path) -> set[str]:
    """The top-level names of every import in a module (relative imports: its own package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(path.relative_to(REPO_ROOT).parts[0] if node.level else (node.module or "").split(".")[0])
    return {"streamlit" if name in APP_MODULES else name for name in names}


def modules(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_those_below_it(package):
    assert modules(package), f"{package} has no module"
    for path in modules(package):
        ours = imported_packages(path) & OURS
        if package == "streamlit":
            ours.discard("streamlit")  # the library shares the app folder's name
        assert ours <= ALLOWED[package], f"{path.relative_to(REPO_ROOT)} imports {sorted(ours - ALLOWED[package])}"


def test_model_and_precision_code_lives_in_the_runtime_only():
    for path in (REPO_ROOT / "training").rglob("*.py"):
        assert not (path.parent.name == "models" or path.name in ("precision.py", "onnx_model.py", "inference.py"))
    for package in ALLOWED:
        for path in modules(package):
            tree = ast.parse(path.read_text())
            sources = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            assert not {s for s in sources if s.startswith(("training.models", "training.precision"))}, path


def test_the_checker_sees_a_forbidden_import(tmp_path):
    module = REPO_ROOT / "handler" / "_probe_forbidden.py"
    module.write_text("from training.train import main\n")
    try:
        with pytest.raises(AssertionError, match=r"imports \['training'\]"):
            test_a_package_imports_only_those_below_it("handler")
    finally:
        module.unlink()
