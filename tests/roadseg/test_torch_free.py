"""The core and the gateway must import without PyTorch: the gateway image does not install it."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BLOCKER = textwrap.dedent("""
    import importlib.abc, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"torch", "torchvision", "training", "segmenter", "handler", "ts"}:
                raise ImportError(f"{name} imported by a torch-free module")
            return None

    sys.meta_path.insert(0, NoTorch())
    import importlib
    for module in sys.argv[1:]:
        importlib.import_module(module)
    print("imported", *sys.argv[1:])
""")


@pytest.mark.parametrize(
    "modules",
    [
        ["gateway.main", "gateway.admin"],
        [
            "roadseg.categories",
            "roadseg.images",
            "roadseg.preprocessing",
            "roadseg.model_config",
            "roadseg.limits",
            "roadseg.contract",
            "roadseg.logits",
            "roadseg.catalogue",
            "roadseg.masks",
            "roadseg.media",
        ],
    ],
)
def test_imports_without_torch(modules):
    result = subprocess.run([sys.executable, "-c", BLOCKER, *modules], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "imported" in result.stdout


def test_the_blocker_really_blocks():
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, "handler.responses"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0 and "imported by a torch-free module" in result.stderr
