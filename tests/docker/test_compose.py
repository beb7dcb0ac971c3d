import shutil
import subprocess

import pytest
import yaml

from tests.docker.conftest import DOCKER, REPO_ROOT

COMPOSE = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_three_services_built_from_their_dockerfiles():
    assert set(SERVICES) == {"torchserve", "gateway", "streamlit"}
    for name, service in SERVICES.items():
        assert service["build"]["context"] == ".."
        assert (REPO_ROOT / service["build"]["dockerfile"]).is_file()
        assert service["build"]["dockerfile"] == f"docker/{name}.Dockerfile"


def test_only_gateway_and_app_ports_are_published():
    assert "ports" not in SERVICES["torchserve"]
    assert set(SERVICES["torchserve"]["expose"]) == {"8080", "8081", "8082"}
    assert SERVICES["gateway"]["ports"] == ["8000:8000"]
    assert SERVICES["streamlit"]["ports"] == ["8501:8501"]


def test_services_reach_each_other_by_name():
    gateway_env = SERVICES["gateway"]["environment"]
    assert gateway_env["GATEWAY_TORCHSERVE_INFERENCE_URL"] == "http://torchserve:8080"
    assert gateway_env["GATEWAY_TORCHSERVE_MANAGEMENT_URL"] == "http://torchserve:8081"
    assert SERVICES["streamlit"]["environment"]["API_URL"] == "http://gateway:8000"
    # TorchServe's key file reaches the gateway through a shared volume, read-only there.
    assert "torchserve-keys:/srv/torchserve" in SERVICES["torchserve"]["volumes"]
    assert "torchserve-keys:/srv/torchserve:ro" in SERVICES["gateway"]["volumes"]
    assert gateway_env["GATEWAY_TORCHSERVE_KEY_FILE"] == "/srv/torchserve/key_file.json"


def test_start_order_follows_health_and_everything_restarts_with_limits():
    assert SERVICES["gateway"]["depends_on"] == {"torchserve": {"condition": "service_healthy"}}
    assert SERVICES["streamlit"]["depends_on"] == {"gateway": {"condition": "service_healthy"}}
    for service in SERVICES.values():
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["restart"] == "unless-stopped"
        limits = service["deploy"]["resources"]["limits"]
        assert float(limits["cpus"]) > 0 and limits["memory"][-1] in "gm" and limits["memory"][:-1].isdigit()


# What Compose v1 (docker-compose 1.29, the original deployment's command) accepts at the top level; v2 accepts
# these too (and `name`, `include`, which v1 refuses).
COMPOSE_V1_TOP_LEVEL = {"version", "services", "networks", "volumes", "secrets", "configs"}


def test_the_file_uses_only_what_both_compose_versions_accept():
    assert {key for key in COMPOSE if not key.startswith("x-")} <= COMPOSE_V1_TOP_LEVEL


COMPOSE_COMMANDS = {"v1": ["docker-compose"], "v2": ["docker", "compose"]}


def installed(command: list[str]) -> bool:
    if not shutil.which(command[0]):
        return False
    return subprocess.run([*command, "version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("version", sorted(COMPOSE_COMMANDS))
def test_each_installed_compose_accepts_the_file(version):
    command = COMPOSE_COMMANDS[version]
    if not installed(command):
        pytest.skip(f"Compose {version} ({' '.join(command)}) is not installed here")
    result = subprocess.run(
        [*command, "-p", "roadseg", "-f", str(DOCKER / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
