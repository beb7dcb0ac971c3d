"""Container health check: exit 0 when URL answers 200 (standard library and the roadseg core only).

python healthcheck.py http://127.0.0.1:8000/health
python healthcheck.py http://127.0.0.1:8080/ping --key-file /srv/torchserve/key_file.json --kind inference
"""

from __future__ import annotations

import argparse
import sys
import urllib.request

from roadseg.contract import read_key_file


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--key-file", help="TorchServe key_file.json: send its key as a bearer token")
    p.add_argument("--kind", default="inference", choices=["inference", "management"], help="which key")
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args(argv)
    request = urllib.request.Request(args.url)
    try:
        if args.key_file:
            request.add_header("Authorization", f"Bearer {read_key_file(args.key_file)[args.kind]}")
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            return 0 if response.status == 200 else 1
    except Exception as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
