"""Print the pinned requirements of one or more extras from pyproject.toml (the single source of pins).

    python docker/requirements.py gateway --core --exclude cityscapesscripts   # -> pip install -r
    python docker/requirements.py --core --only cityscapesscripts              # -> pip install --no-deps
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirement_name(line: str) -> str:
    return re.split(r"[\[=<>!~ ;]", line, maxsplit=1)[0].lower().replace("_", "-")


def requirements(extras: list[str], core: bool, pyproject: Path = PYPROJECT) -> list[str]:
    """Pinned lines of the core (optional) and the extras, self-references (roadseg[x]) expanded."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines: list[str] = list(project["dependencies"]) if core else []
    pending = list(extras)
    seen: set[str] = set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for line in project["optional-dependencies"][extra]:
            if requirement_name(line) == project["name"]:
                pending += re.findall(r"\[(.*)\]", line)[0].split(",")
            elif line not in lines:
                lines.append(line)
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("extras", nargs="*", help="optional-dependency groups, e.g. serving gateway app")
    p.add_argument("--core", action="store_true", help="include the core dependencies")
    p.add_argument("--exclude", nargs="*", default=[], help="leave out these packages")
    p.add_argument("--only", nargs="*", help="print only these packages")
    args = p.parse_args()
    for line in requirements(args.extras, args.core):
        name = requirement_name(line)
        if name in {n.lower() for n in args.exclude}:
            continue
        if args.only is not None and name not in {n.lower() for n in args.only}:
            continue
        print(line)


if __name__ == "__main__":
    main()
