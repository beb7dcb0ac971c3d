"""Deploy the three services to Azure Container Instances with the Azure CLI (`az`).

    python docker/azure/aci.py build-push          # build the 3 images in Azure Container Registry (ACR Tasks)
    python docker/azure/aci.py deploy-group        # ONE container group: services talk over localhost
    python docker/azure/aci.py deploy-instances    # THREE container instances, as the original deployment had them
    python docker/azure/aci.py urls [--instances]
    python docker/azure/aci.py smoke --gateway-url URL --app-url URL
    python docker/azure/aci.py teardown [--instances] [--resource-group-too]
Add --dry-run to print the az commands instead of running them (secrets masked).

Settings, from the environment (never from this file):
  AZ_RESOURCE_GROUP, AZ_REGISTRY (ACR name), AZ_DNS_PREFIX   required
  AZ_LOCATION (westeurope), IMAGE_TAG (latest)
  AZ_ACR_IDENTITY     resource id of a user-assigned identity with AcrPull (preferred), or
  ACR_USERNAME, ACR_PASSWORD   registry credentials (e.g. a service principal's)
  AZ_STORAGE_ACCOUNT  deploy-instances only: Azure Files share for TorchServe's key file
  GATEWAY_TORCHSERVE_{INFERENCE,MANAGEMENT,API}_KEY   optional: passed as secure environment variables
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES = {
    "torchserve": "docker/torchserve.Dockerfile",
    "gateway": "docker/gateway.Dockerfile",
    "streamlit": "docker/streamlit.Dockerfile",
}
KEY_MOUNT = "/srv/torchserve"
KEY_FILE = f"{KEY_MOUNT}/key_file.json"
KEY_SHARE = "roadseg-torchserve-keys"
SECRET_KEYS = ("GATEWAY_TORCHSERVE_INFERENCE_KEY", "GATEWAY_TORCHSERVE_MANAGEMENT_KEY", "GATEWAY_TORCHSERVE_API_KEY")
# cpu, memory GB: the containers' limits, roadseg.contract.CONTAINER_LIMITS (tests/docker/test_contract.py checks)
RESOURCES = {"torchserve": (2.0, 4.0), "gateway": (1.0, 1.0), "streamlit": (1.0, 1.5)}


@dataclass(frozen=True)
class AzureSettings:
    resource_group: str
    registry: str
    dns_prefix: str
    location: str = "westeurope"
    image_tag: str = "latest"
    acr_identity: str | None = None
    acr_username: str | None = None
    acr_password: str | None = None
    storage_account: str | None = None
    torchserve_keys: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AzureSettings:
        missing = [name for name in ("AZ_RESOURCE_GROUP", "AZ_REGISTRY", "AZ_DNS_PREFIX") if not env.get(name)]
        if missing:
            raise SystemExit(f"set {', '.join(missing)} (see: python docker/azure/aci.py --help)")
        if not env.get("AZ_ACR_IDENTITY") and not (env.get("ACR_USERNAME") and env.get("ACR_PASSWORD")):
            raise SystemExit(
                "set AZ_ACR_IDENTITY (preferred), or ACR_USERNAME and ACR_PASSWORD, to pull from the registry"
            )
        return cls(
            resource_group=env["AZ_RESOURCE_GROUP"],
            registry=env["AZ_REGISTRY"],
            dns_prefix=env["AZ_DNS_PREFIX"],
            location=env.get("AZ_LOCATION", "westeurope"),
            image_tag=env.get("IMAGE_TAG", "latest"),
            acr_identity=env.get("AZ_ACR_IDENTITY"),
            acr_username=env.get("ACR_USERNAME"),
            acr_password=env.get("ACR_PASSWORD"),
            storage_account=env.get("AZ_STORAGE_ACCOUNT"),
            torchserve_keys=tuple((k, env[k]) for k in SECRET_KEYS if env.get(k)),
        )

    @property
    def login_server(self) -> str:
        return f"{self.registry}.azurecr.io"

    def image(self, service: str) -> str:
        return f"{self.login_server}/roadseg/{service}:{self.image_tag}"

    def fqdn(self, label: str) -> str:
        return f"{label}.{self.location}.azurecontainer.io"

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.acr_password, *(v for _, v in self.torchserve_keys)) if s]


class Az:
    """Runs az commands, or only prints them (--dry-run); secrets are masked in what is printed."""

    def __init__(self, dry_run: bool, secrets: list[str]):
        self.dry_run, self.secrets = dry_run, list(secrets)

    def __call__(self, *args: str, capture: bool = False) -> str:
        printed = shlex.join(["az", *args])
        for secret in self.secrets:
            printed = printed.replace(secret, "***")
        print(f"$ {printed}", flush=True)
        if self.dry_run:
            return ""
        done = subprocess.run(["az", *args], check=True, text=True, capture_output=capture, cwd=REPO_ROOT)
        return (done.stdout or "").strip()


def build_push(s: AzureSettings, az: Az) -> None:
    """Build each image in the registry itself (ACR Tasks): no local Docker engine needed."""
    for service, dockerfile in IMAGES.items():
        az(
            "acr",
            "build",
            "--registry",
            s.registry,
            "--image",
            f"roadseg/{service}:{s.image_tag}",
            "--file",
            dockerfile,
            ".",
        )


def container_group(s: AzureSettings) -> dict:
    """The ACI container group (YAML schema): 3 containers over localhost, only 8000 and 8501 public."""

    def env(pairs: dict[str, str], secure: tuple[tuple[str, str], ...] = ()) -> list[dict]:
        return [{"name": k, "value": v} for k, v in pairs.items()] + [{"name": k, "secureValue": v} for k, v in secure]

    def container(service: str, port: int, variables: list[dict], mounts: list[dict], probe: list[str]) -> dict:
        cpu, memory = RESOURCES[service]
        properties = {
            "image": s.image(service),
            "resources": {"requests": {"cpu": cpu, "memoryInGB": memory}},
            "ports": [{"port": port, "protocol": "TCP"}],
            "environmentVariables": variables,
            "volumeMounts": mounts,
            "readinessProbe": {
                "exec": {"command": ["python", "/opt/roadseg/healthcheck.py", *probe]},
                "initialDelaySeconds": 20,
                "periodSeconds": 15,
            },
        }
        return {"name": service, "properties": {k: v for k, v in properties.items() if v != []}}

    credentials = (
        {"server": s.login_server, "identity": s.acr_identity}
        if s.acr_identity
        else {"server": s.login_server, "username": s.acr_username, "password": s.acr_password}
    )
    group = {
        "apiVersion": "2023-05-01",
        "location": s.location,
        "name": "roadseg",
        "type": "Microsoft.ContainerInstance/containerGroups",
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Always",
            "imageRegistryCredentials": [credentials],
            "ipAddress": {
                "type": "Public",
                "dnsNameLabel": s.dns_prefix,
                "ports": [{"port": 8000, "protocol": "TCP"}, {"port": 8501, "protocol": "TCP"}],
            },
            "volumes": [{"name": "torchserve-keys", "emptyDir": {}}],
            "containers": [
                container(
                    "torchserve",
                    8080,
                    [],
                    [{"name": "torchserve-keys", "mountPath": KEY_MOUNT}],
                    ["http://127.0.0.1:8080/ping", "--key-file", KEY_FILE],
                ),
                container(
                    "gateway",
                    8000,
                    env(
                        {
                            "GATEWAY_TORCHSERVE_INFERENCE_URL": "http://localhost:8080",
                            "GATEWAY_TORCHSERVE_MANAGEMENT_URL": "http://localhost:8081",
                            "GATEWAY_TORCHSERVE_KEY_FILE": KEY_FILE,
                        },
                        s.torchserve_keys,
                    ),
                    [{"name": "torchserve-keys", "mountPath": KEY_MOUNT, "readOnly": True}],
                    ["http://127.0.0.1:8000/health"],
                ),
                container(
                    "streamlit",
                    8501,
                    env({"API_URL": "http://localhost:8000"}),
                    [],
                    ["http://127.0.0.1:8501/_stcore/health"],
                ),
            ],
        },
    }
    if s.acr_identity:
        group["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {s.acr_identity: {}}}
    return group


def render_group(s: AzureSettings) -> str:
    return yaml.safe_dump(container_group(s), sort_keys=False)


def deploy_group(s: AzureSettings, az: Az) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roadseg-aci.yaml"
        path.touch(mode=0o600)
        path.write_text(render_group(s))  # may hold the registry password: private file, deleted after
        az("container", "create", "--resource-group", s.resource_group, "--file", str(path))


def registry_args(s: AzureSettings) -> list[str]:
    if s.acr_identity:
        return ["--assign-identity", s.acr_identity, "--acr-identity", s.acr_identity]
    return [
        "--registry-login-server",
        s.login_server,
        "--registry-username",
        s.acr_username or "",
        "--registry-password",
        s.acr_password or "",
    ]


def deploy_instances(s: AzureSettings, az: Az) -> None:
    """Three instances, each with its DNS label; TorchServe's key file on an Azure Files share for the gateway."""
    if not s.storage_account:
        raise SystemExit("deploy-instances needs AZ_STORAGE_ACCOUNT (an Azure Files share holds TorchServe's key file)")
    az(
        "storage",
        "share-rm",
        "create",
        "--resource-group",
        s.resource_group,
        "--storage-account",
        s.storage_account,
        "--name",
        KEY_SHARE,
        "--quota",
        "1",
    )
    storage_key = (
        az(
            "storage",
            "account",
            "keys",
            "list",
            "--resource-group",
            s.resource_group,
            "--account-name",
            s.storage_account,
            "--query",
            "[0].value",
            "--output",
            "tsv",
            capture=True,
        )
        or "<storage-key>"
    )
    az.secrets.append(storage_key)
    share = [
        "--azure-file-volume-account-name",
        s.storage_account,
        "--azure-file-volume-account-key",
        storage_key,
        "--azure-file-volume-share-name",
        KEY_SHARE,
        "--azure-file-volume-mount-path",
        KEY_MOUNT,
    ]
    ts, api = s.fqdn(f"{s.dns_prefix}-ts"), s.fqdn(f"{s.dns_prefix}-api")

    def create(service: str, label: str, ports: list[str], extra: list[str]) -> None:
        cpu, memory = RESOURCES[service]
        az(
            "container",
            "create",
            "--resource-group",
            s.resource_group,
            "--location",
            s.location,
            "--name",
            f"roadseg-{service}",
            "--image",
            s.image(service),
            "--os-type",
            "Linux",
            "--cpu",
            str(cpu),
            "--memory",
            str(memory),
            "--restart-policy",
            "Always",
            "--ip-address",
            "Public",
            "--dns-name-label",
            label,
            "--ports",
            *ports,
            *registry_args(s),
            *extra,
        )

    create("torchserve", f"{s.dns_prefix}-ts", ["8080", "8081"], share)
    gateway_env = [
        "--environment-variables",
        f"GATEWAY_TORCHSERVE_INFERENCE_URL=http://{ts}:8080",
        f"GATEWAY_TORCHSERVE_MANAGEMENT_URL=http://{ts}:8081",
        f"GATEWAY_TORCHSERVE_KEY_FILE={KEY_FILE}",
    ]
    if s.torchserve_keys:
        gateway_env += ["--secure-environment-variables", *(f"{k}={v}" for k, v in s.torchserve_keys)]
    create("gateway", f"{s.dns_prefix}-api", ["8000"], gateway_env + share)
    create("streamlit", f"{s.dns_prefix}-app", ["8501"], ["--environment-variables", f"API_URL=http://{api}:8000"])


def urls(s: AzureSettings, instances: bool) -> dict[str, str]:
    if instances:
        return {
            "app": f"http://{s.fqdn(s.dns_prefix + '-app')}:8501",
            "gateway": f"http://{s.fqdn(s.dns_prefix + '-api')}:8000",
        }
    return {"app": f"http://{s.fqdn(s.dns_prefix)}:8501", "gateway": f"http://{s.fqdn(s.dns_prefix)}:8000"}


def teardown(s: AzureSettings, az: Az, instances: bool, resource_group_too: bool) -> None:
    if resource_group_too:
        az("group", "delete", "--name", s.resource_group, "--yes", "--no-wait")
        return
    names = [f"roadseg-{service}" for service in IMAGES] if instances else ["roadseg"]
    for name in names:
        az("container", "delete", "--resource-group", s.resource_group, "--name", name, "--yes")


def smoke(gateway_url: str, app_url: str, sample: Path) -> list[str]:
    """Check the public URLs as a user would; returns the failures (empty: all good)."""
    import httpx
    from PIL import Image

    failures = []
    with httpx.Client(timeout=120) as client:

        def check(name: str, ok) -> None:
            try:
                result = ok()
                print(f"ok    {name}" if result else f"FAIL  {name}")
                failures.extend([] if result else [name])
            except Exception as error:
                print(f"FAIL  {name}: {error}")
                failures.append(name)

        check("gateway /health", lambda: client.get(f"{gateway_url}/health").json()["status"] == "ok")

        def predict() -> bool:
            response = client.post(f"{gateway_url}/predict", files={"file": (sample.name, sample.read_bytes())})
            mask = Image.open(io.BytesIO(response.content))
            return response.status_code == 200 and mask.size == Image.open(sample).size

        check(f"gateway /predict on {sample.name}", predict)
        check("app page", lambda: client.get(app_url).status_code == 200)
        check("app health", lambda: client.get(f"{app_url}/_stcore/health").text.strip() == "ok")
    return failures


def main(argv: list[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "command",
        choices=["build-push", "deploy-group", "render-group", "deploy-instances", "urls", "smoke", "teardown"],
    )
    p.add_argument("--dry-run", action="store_true", help="print the az commands, run none")
    p.add_argument("--instances", action="store_true", help="urls/teardown: the three-instance form")
    p.add_argument("--resource-group-too", action="store_true", help="teardown: delete the whole resource group")
    p.add_argument("--gateway-url", help="smoke: the gateway's public URL")
    p.add_argument("--app-url", help="smoke: the app's public URL")
    p.add_argument(
        "--sample",
        type=Path,
        default=next((REPO_ROOT / "streamlit" / "samples").glob("*.jpg"), None),
        help="smoke: image sent to /predict",
    )
    args = p.parse_args(argv)
    if args.command == "smoke":
        if not (args.gateway_url and args.app_url):
            raise SystemExit("smoke needs --gateway-url and --app-url")
        return 1 if smoke(args.gateway_url.rstrip("/"), args.app_url.rstrip("/"), args.sample) else 0
    settings = AzureSettings.from_env(env)
    az = Az(args.dry_run, settings.secrets)
    if args.command == "build-push":
        build_push(settings, az)
    elif args.command == "deploy-group":
        deploy_group(settings, az)
        print("\n".join(f"{k}: {v}" for k, v in urls(settings, False).items()))
    elif args.command == "render-group":
        print(render_group(settings))
    elif args.command == "deploy-instances":
        deploy_instances(settings, az)
        print("\n".join(f"{k}: {v}" for k, v in urls(settings, True).items()))
    elif args.command == "urls":
        print("\n".join(f"{k}: {v}" for k, v in urls(settings, args.instances).items()))
    else:
        teardown(settings, az, args.instances, args.resource_group_too)
    return 0


if __name__ == "__main__":
    sys.exit(main())
