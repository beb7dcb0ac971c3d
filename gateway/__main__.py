"""python -m gateway [--host H] [--port P]: serve the gateway with uvicorn."""

import argparse

import uvicorn

parser = argparse.ArgumentParser(description="Run the roadseg gateway (settings: GATEWAY_* environment variables).")
parser.add_argument("--host", default="127.0.0.1", help="bind address")
parser.add_argument("--port", type=int, default=8000, help="port")
parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
args = parser.parse_args()
uvicorn.run("gateway.main:app", host=args.host, port=args.port, workers=args.workers, proxy_headers=True)
