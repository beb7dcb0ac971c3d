import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from handler.archive import torchserve_models
from roadseg.catalogue import SHIPPED_MODELS
from tests.docker.conftest import DOCKER, REPO_ROOT

DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_there_are_three_images():
    assert [p.name for p in DOCKERFILES] == ["gateway.Dockerfile", "streamlit.Dockerfile", "torchserve.Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_copy_sources_exist_in_the_build_context(dockerfile):
    ignored = {line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()}
    for keyword, args in instructions(dockerfile):
        if keyword != "COPY" or args.startswith("--from="):
            continue
        for source in args.split()[:-1]:
            source = source.replace("${TORCH_LOCK}", "torch-cpu.txt")  # the build argument's default
            assert (REPO_ROOT / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"
            assert source not in ignored, f"{dockerfile.name}: COPY {source} is excluded by .dockerignore"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_slim_multistage_non_root_with_healthcheck(dockerfile):
    rows = instructions(dockerfile)
    froms = [args for keyword, args in rows if keyword == "FROM"]
    assert len(froms) == 2 and all(f.startswith("python:3.11-slim") for f in froms)
    users = [args for keyword, args in rows if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(keyword == "HEALTHCHECK" for keyword, _ in rows)
    final_stage = rows[max(i for i, (k, _) in enumerate(rows) if k == "FROM") :]
    assert not any("gcc" in args or "build-essential" in args for _, args in final_stage)
    assert not any(re.search(r"(PASSWORD|SECRET|KEY)=\S", args) for k, args in rows if k == "ENV")


ENTRY_POINTS = {
    "torchserve": (
        ["torchserve", "--start", "--foreground"],
        "--models " + torchserve_models([Path(m.archive_name) for m in SHIPPED_MODELS]),
    ),  # every shipped version, the default first
    "gateway": (["uvicorn", "gateway.main:app"], "0.0.0.0"),
    "streamlit": (["streamlit", "run", "streamlit/app.py"], "8501"),
}


@pytest.mark.parametrize("service", sorted(ENTRY_POINTS))
def test_cmd_starts_the_right_entry_point(service):
    import json

    cmd = json.loads([args for k, args in instructions(DOCKER / f"{service}.Dockerfile") if k == "CMD"][-1])
    start, detail = ENTRY_POINTS[service]
    assert cmd[: len(start)] == start and detail in " ".join(cmd)
    if service == "gateway":
        from gateway.main import app  # the module:attribute uvicorn is told to load

        assert app.title == "roadseg gateway"
    if service == "streamlit":
        assert (REPO_ROOT / "streamlit" / "app.py").is_file()


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, *map(str, DOCKERFILES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
