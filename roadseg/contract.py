"""Facts that several processes and deployment files must agree on: stated once here.

The gateway, the handler, the stack launcher and the tests import them; `config.properties`, compose, the
Kubernetes manifests, the ACI template and the Dockerfiles repeat them as text, and a test
(`tests/docker/test_contract.py`) fails where one of those files disagrees.
"""

from __future__ import annotations

import json
from pathlib import Path

# The model names TorchServe serves: the VGG16 U-Net (every shipped version, the gateway's default) and the
# embedded real-time model beside it.
MODEL_NAME = "roadseg"
REALTIME_MODEL_NAME = "roadseg-rt"

# The handler names the version that answered in this header of its response; the gateway passes it on.
MODEL_VERSION_HEADER = "X-Model-Version"
# A request carrying this header with MASK_AND_CONFIDENCE gets one 2-channel PNG from the same inference:
# category ids, and the model's confidence (max softmax, 0..255) as the second channel. Without it: ids only.
OUTPUT_HEADER = "X-Roadseg-Output"
MASK_AND_CONFIDENCE = "mask+confidence"

# Ports. TorchServe's three HTTP APIs and its two gRPC ones (0.12 always opens them), the gateway, the app.
TORCHSERVE_INFERENCE_PORT = 8080
TORCHSERVE_MANAGEMENT_PORT = 8081
TORCHSERVE_METRICS_PORT = 8082
TORCHSERVE_GRPC_INFERENCE_PORT = 7070
TORCHSERVE_GRPC_MANAGEMENT_PORT = 7071
GATEWAY_PORT = 8000
APP_PORT = 8501

# Timeouts, seconds. The model server must give up on a request after the gateway does: a request the
# gateway timed out (504) must never still be answered into the void, nor a slow one cut short by the server
# while the gateway waits. Checked below, at import, and by the contract test on config.properties.
GATEWAY_INFERENCE_TIMEOUT_S = 30
TORCHSERVE_RESPONSE_TIMEOUT_S = 60

# TorchServe's batch size; a video job keeps as many frames in flight, so that they fill its batches.
TORCHSERVE_BATCH_SIZE = 4

# How long a finished video job's results are kept (the gateway deletes them after; a Kubernetes client must
# stay with the replica holding them that long: Service affinity and the Ingress cookie).
VIDEO_RESULTS_KEEP_S = 3600


# Each container's CPU and memory limit: compose's deploy limits, the Kubernetes containers' limits and the Azure
# Container Instances template (docker/azure/aci.py, in GB: 1536 MiB is 1.5) repeat them; the contract test checks.
CONTAINER_LIMITS = {"torchserve": (2.0, 4096), "gateway": (1.0, 1024), "streamlit": (1.0, 1536)}  # (cpus, MiB)


def check_timeouts(gateway_timeout_s: float, server_timeout_s: float) -> None:
    """Refuse a gateway timeout that does not end before the model server's response timeout."""
    if not gateway_timeout_s < server_timeout_s:
        raise ValueError(
            f"the gateway's inference timeout ({gateway_timeout_s:g} s) must be shorter than the model "
            f"server's response timeout ({server_timeout_s:g} s)"
        )


check_timeouts(GATEWAY_INFERENCE_TIMEOUT_S, TORCHSERVE_RESPONSE_TIMEOUT_S)


# TorchServe's token authorization: the key file it writes in its working directory (key_file.json, one key per
# API; the gateway and the containers' health checks read it) and the JSON names of those APIs in it.
KEY_FILE_APIS = {"inference": "inference", "management": "management", "api": "API"}


def read_key_file(path: str | Path) -> dict[str, str]:
    """The keys in TorchServe's key file by API (inference, management, api); OSError/ValueError if unreadable."""
    data = json.loads(Path(path).read_text())
    return {api: str(data[name]["key"]) for api, name in KEY_FILE_APIS.items() if data.get(name, {}).get("key")}
