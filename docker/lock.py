"""Lock each image's requirement set with hashes (docker/locks/<image>.txt); the Dockerfiles install from them.

    python docker/lock.py            (`make locks`: needs PyPI; run it after changing a pin in pyproject.toml)

pyproject.toml's extras are the one source of pins; this resolves them, with every transitive package, for
the images' Python (3.11, Linux x86_64). PyTorch comes from its CPU index in the TorchServe image, which
this machine cannot reach: torch and torchvision (and the CUDA packages only the PyPI build needs) are left
out of torchserve.txt and pinned by exact version in torch-cpu.txt instead (and in torch-pypi.txt, for a
builder that takes PyPI's build: the TorchServe Dockerfile's TORCH_INDEX_URL and TORCH_LOCK).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
LOCKS = Path(__file__).resolve().parent / "locks"
PYTHON_VERSION, PLATFORM = "3.11", "x86_64-unknown-linux-gnu"
# image -> the extras it installs (the core dependencies always come too).
IMAGES = {"gateway": ["gateway"], "streamlit": ["app"], "torchserve": ["serving"]}
CPU_WHEELS = ("torch", "torchvision")
CUDA_ONLY = re.compile(r"^(nvidia-|cuda-|triton$)")


def requirement_name(line: str) -> str:
    return re.split(r"[\[=<>!~ ;]", line, maxsplit=1)[0].lower().replace("_", "-")


def requirements(extras: list[str], pyproject: Path = PYPROJECT) -> list[str]:
    """Pinned lines of the core and the extras, self-references (roadseg[x]) expanded."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines: list[str] = list(project["dependencies"])
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for line in project["optional-dependencies"][extra]:
            line = line.split("#")[0].strip()
            if requirement_name(line) == project["name"]:
                pending += re.findall(r"\[(.*)\]", line)[0].split(",")
            elif line not in lines:
                lines.append(line)
    return lines


def compile_lock(lines: list[str], output: Path | None, exclude: frozenset[str] = frozenset()) -> list[str]:
    """uv pip compile: with hashes into `output`, or (output None) just the resolved package names."""
    with tempfile.TemporaryDirectory() as tmp:
        # A stable, relative source name: the locks' "# via -r ..." lines do not change from run to run.
        source = Path(tmp) / "pyproject-extras.in"
        source.write_text("\n".join(lines) + "\n")
        command = [sys.executable, "-m", "uv", "pip", "compile", source.name, "--quiet"]  # fmt: skip
        command += ["--python-version", PYTHON_VERSION, "--python-platform", PLATFORM]
        if output is None:
            listing = [*command, "--no-header", "--no-annotate"]
            result = subprocess.run(listing, check=True, capture_output=True, text=True, cwd=tmp)
            return [requirement_name(line) for line in result.stdout.splitlines() if line and line[0].isalnum()]
        command += ["--generate-hashes", "--custom-compile-command", "make locks", "-o", str(output.resolve())]
        for name in sorted(exclude):
            command += ["--no-emit-package", name]
        subprocess.run(command, check=True, cwd=tmp)
        return []


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    LOCKS.mkdir(exist_ok=True)
    for image, extras in IMAGES.items():
        lines = requirements(extras)
        exclude: frozenset[str] = frozenset()
        if any(requirement_name(line) in CPU_WHEELS for line in lines):
            exclude = frozenset(n for n in compile_lock(lines, None) if n in CPU_WHEELS or CUDA_ONLY.match(n))
            cpu = [f"{line}+cpu" for line in lines if requirement_name(line) in CPU_WHEELS]
            (LOCKS / "torch-cpu.txt").write_text(
                "# PyTorch's CPU wheels (https://download.pytorch.org/whl/cpu), pinned by version: `make locks`\n"
                + "\n".join(cpu)
                + "\n"
            )
            pypi = [line for line in lines if requirement_name(line) in CPU_WHEELS]
            (LOCKS / "torch-pypi.txt").write_text(
                "# PyTorch from PyPI (its CUDA build; the CUDA libraries come as its dependencies), pinned by "
                "version: `make locks`\n" + "\n".join(pypi) + "\n"
            )
        compile_lock(lines, LOCKS / f"{image}.txt", exclude)
        print(f"wrote {LOCKS / f'{image}.txt'}" + (f" (without {', '.join(sorted(exclude))})" if exclude else ""))


if __name__ == "__main__":
    main()
