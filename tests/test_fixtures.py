"""The shared fixtures are the same files in every process (no per-process hash seeds)."""

import hashlib
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_camvid, write_cityscapes

REPO_ROOT = Path(__file__).resolve().parents[1]
WRITE_BOTH = (
    "import sys; from pathlib import Path; from tests.conftest import write_camvid, write_cityscapes; "
    "write_camvid(Path(sys.argv[1]) / 'camvid', {'train': 3, 'val': 2}); "
    "write_cityscapes(Path(sys.argv[1]) / 'cityscapes', {'train': 2, 'val': 1})"
)


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.png"))}


def test_fixture_datasets_are_identical_across_processes(tmp_path):
    write_camvid(tmp_path / "here" / "camvid", {"train": 3, "val": 2})
    write_cityscapes(tmp_path / "here" / "cityscapes", {"train": 2, "val": 1})
    for run in ("a", "b"):  # fresh interpreters, each with its own PYTHONHASHSEED
        subprocess.run(
            [sys.executable, "-c", WRITE_BOTH, str(tmp_path / run)],
            cwd=REPO_ROOT,
            check=True,
            env={"PYTHONHASHSEED": "random", "PATH": "/usr/bin:/bin"},
        )
    here = digest(tmp_path / "here")
    assert len(here) == 10 + 9  # CamVid: image + annotation; Cityscapes: image, label ids, colour
    assert digest(tmp_path / "a") == here == digest(tmp_path / "b")
