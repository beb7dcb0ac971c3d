"""The deployment files repeat the cross-process facts of `roadseg.contract` as text: each must agree with it."""

import re

import pytest
import yaml

from gateway.config import Settings
from handler.archive import ServingOptions
from roadseg import contract
from tests.docker.conftest import DOCKER, REPO_ROOT, load_script
from tests.docker.test_aci import ENV

aci = load_script(DOCKER / "azure" / "aci.py", "docker_aci_contract")

PORTS = {
    "TORCHSERVE_INFERENCE": contract.TORCHSERVE_INFERENCE_PORT,
    "TORCHSERVE_MANAGEMENT": contract.TORCHSERVE_MANAGEMENT_PORT,
    "TORCHSERVE_METRICS": contract.TORCHSERVE_METRICS_PORT,
    "GATEWAY": contract.GATEWAY_PORT,
    "APP": contract.APP_PORT,
}
# Settings that name an address, and the port they must use.
ADDRESSES = {
    "inference_address": contract.TORCHSERVE_INFERENCE_PORT,
    "management_address": contract.TORCHSERVE_MANAGEMENT_PORT,
    "metrics_address": contract.TORCHSERVE_METRICS_PORT,
    "TS_INFERENCE_ADDRESS": contract.TORCHSERVE_INFERENCE_PORT,
    "TS_MANAGEMENT_ADDRESS": contract.TORCHSERVE_MANAGEMENT_PORT,
    "TS_METRICS_ADDRESS": contract.TORCHSERVE_METRICS_PORT,
    "GATEWAY_TORCHSERVE_INFERENCE_URL": contract.TORCHSERVE_INFERENCE_PORT,
    "GATEWAY_TORCHSERVE_MANAGEMENT_URL": contract.TORCHSERVE_MANAGEMENT_PORT,
    "API_URL": contract.GATEWAY_PORT,
}


def deployment_texts() -> dict[str, str]:
    files = [
        REPO_ROOT / "config.properties",
        DOCKER / "docker-compose.yml",
        *sorted((DOCKER / "kubernetes").glob("*.yaml")),
        *sorted(DOCKER.glob("*.Dockerfile")),
    ]
    texts = {str(path.relative_to(REPO_ROOT)): path.read_text() for path in files}
    texts["docker/azure (rendered)"] = aci.render_group(aci.AzureSettings.from_env(ENV))
    return texts


TEXTS = deployment_texts()


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_address_uses_its_contract_port(name):
    text = TEXTS[name]
    found = 0
    for key, port in ADDRESSES.items():
        for match in re.finditer(rf"{key}\W[^\n]*?://[^:/\s\"]+:(\d+)", text):
            found += 1
            assert int(match[1]) == port, f"{name}: {key} uses port {match[1]}, the contract says {port}"
    if "kustomization" not in name and "namespace" not in name:
        assert found or "URL" not in text, f"{name}: no address recognised"


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_port_named_in_a_file_is_a_contract_port(name):
    text = TEXTS[name]
    patterns = [
        r"://[^:/\s\"]+:(\d+)",  # URLs
        r"(?:containerPort|port|targetPort):\s*(\d+)",  # Kubernetes, ACI
        r"EXPOSE ([\d ]+)",  # Dockerfiles
        r"\"(\d+):\d+\"",  # compose's published ports
        r"--port[\", ]+(\d+)",  # uvicorn, streamlit
    ]
    ports = {int(p) for pattern in patterns for match in re.findall(pattern, text) for p in match.split()}
    assert ports <= set(PORTS.values()), f"{name}: ports {sorted(ports - set(PORTS.values()))} are not the contract's"


def test_torchserve_configuration_agrees_with_the_contract():
    properties = dict(
        line.split("=", 1) for line in TEXTS["config.properties"].splitlines() if "=" in line and line[0] != "#"
    )
    assert int(properties["default_response_timeout"]) == contract.TORCHSERVE_RESPONSE_TIMEOUT_S
    served = {contract.MODEL_NAME, contract.REALTIME_MODEL_NAME}  # the VGG16 U-Net and the real-time model
    assert {entry.split("=")[0] for entry in properties["load_models"].split(",")} == served
    options = ServingOptions()
    assert options.batch_size == contract.TORCHSERVE_BATCH_SIZE
    assert options.response_timeout_s == contract.TORCHSERVE_RESPONSE_TIMEOUT_S
    assert f"responseTimeout: {contract.TORCHSERVE_RESPONSE_TIMEOUT_S}" in options.yaml()
    torchserve_cmd = TEXTS["docker/torchserve.Dockerfile"].split("CMD", 1)[1]
    assert all(f"{name}=" in torchserve_cmd for name in served)


def test_the_gateway_gives_up_before_the_model_server_and_refuses_settings_that_would_not():
    """The response-timeout ordering is checked where it can be broken: the gateway's settings refuse it."""
    settings = Settings()
    assert (
        settings.inference_timeout_s < settings.model_server_response_timeout_s == ServingOptions().response_timeout_s
    )
    with pytest.raises(ValueError, match="must be shorter than the model server's response timeout"):
        Settings(inference_timeout_s=60, model_server_response_timeout_s=60)
    ingress = yaml.safe_load(TEXTS["docker/kubernetes/ingress.yaml"])["metadata"]["annotations"]
    assert int(ingress["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > contract.GATEWAY_INFERENCE_TIMEOUT_S


def test_video_results_are_kept_as_long_as_clients_stay_with_their_replica():
    assert Settings().video_results_keep_s == contract.VIDEO_RESULTS_KEEP_S
    assert Settings().video_frames_in_flight == contract.TORCHSERVE_BATCH_SIZE
    ingress = yaml.safe_load(TEXTS["docker/kubernetes/ingress.yaml"])["metadata"]["annotations"]
    assert int(ingress["nginx.ingress.kubernetes.io/session-cookie-max-age"]) == contract.VIDEO_RESULTS_KEEP_S
    service = next(
        doc for doc in yaml.safe_load_all(TEXTS["docker/kubernetes/serving.yaml"]) if doc and doc["kind"] == "Service"
    )
    assert service["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == contract.VIDEO_RESULTS_KEEP_S


def compose_limits() -> dict[str, tuple[float, int]]:
    services = yaml.safe_load(TEXTS["docker/docker-compose.yml"])["services"]
    units = {"g": 1024, "m": 1}
    found = {}
    for name, service in services.items():
        limits = service["deploy"]["resources"]["limits"]
        memory = str(limits["memory"])
        found[name] = (float(limits["cpus"]), int(float(memory[:-1]) * units[memory[-1].lower()]))
    return found


def kubernetes_limits() -> dict[str, tuple[float, int]]:
    units = {"Gi": 1024, "Mi": 1}
    found = {}
    for path in ("docker/kubernetes/serving.yaml", "docker/kubernetes/app.yaml"):
        for doc in yaml.safe_load_all(TEXTS[path]):
            if not doc or doc["kind"] != "Deployment":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                limits = container["resources"]["limits"]
                cpu, memory = str(limits["cpu"]), str(limits["memory"])
                cpus = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
                found[container["name"]] = (cpus, int(float(memory[:-2]) * units[memory[-2:]]))
    return found


def test_the_containers_limits_agree_across_compose_kubernetes_and_azure():
    assert compose_limits() == contract.CONTAINER_LIMITS
    assert kubernetes_limits() == contract.CONTAINER_LIMITS
    aci_mib = {name: (cpus, round(gb * 1024)) for name, (cpus, gb) in aci.RESOURCES.items()}
    assert aci_mib == contract.CONTAINER_LIMITS


def test_a_stopping_gateway_gets_longer_than_its_inference_timeout_to_finish_its_requests():
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())["services"]["gateway"]
    grace_s = int(compose["stop_grace_period"].removesuffix("s"))
    documents = yaml.safe_load_all((DOCKER / "kubernetes" / "serving.yaml").read_text())
    [serving] = [d for d in documents if d and d["kind"] == "Deployment"]
    assert grace_s == serving["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace_s > contract.GATEWAY_INFERENCE_TIMEOUT_S
