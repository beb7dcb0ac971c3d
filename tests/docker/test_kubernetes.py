"""Kubernetes manifests (docker/kubernetes): valid against the API's schemas, and the invariants that keep the
deployment safe: only the gateway and the app exposed, probes on real paths, limits, non-root, no key shared."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

import kubernetes_validate
import pytest
import yaml

from gateway.main import create_app
from tests.docker.conftest import DOCKER

KUBERNETES = DOCKER / "kubernetes"
KUSTOMIZATION = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
RESOURCES = [doc for name in KUSTOMIZATION["resources"] for doc in yaml.safe_load_all((KUBERNETES / name).read_text())]
BY_KIND: dict[str, dict[str, dict]] = {}
for resource in RESOURCES:
    BY_KIND.setdefault(resource["kind"], {})[resource["metadata"]["name"]] = resource
DEPLOYMENTS = BY_KIND["Deployment"]
# The oldest Kubernetes minor still supported on AKS when this was written, and the newest with bundled schemas.
KUBERNETES_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
STREAMLIT_HEALTH = "/_stcore/health"  # Streamlit's own health endpoint, as the image's HEALTHCHECK uses it


def containers() -> Iterator[tuple[str, dict]]:
    for name, deployment in DEPLOYMENTS.items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield name, container


def pod_of_service(service: dict) -> dict:
    """The pod template a Service selects (exactly one Deployment)."""
    selector = service["spec"]["selector"]
    chosen = [
        d["spec"]["template"]
        for d in DEPLOYMENTS.values()
        if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert len(chosen) == 1, service["metadata"]["name"]
    return chosen[0]


def named_ports(pod: dict) -> dict[str, tuple[str, int]]:
    return {p["name"]: (c["name"], p["containerPort"]) for c in pod["spec"]["containers"] for p in c.get("ports", [])}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version):
    assert len(RESOURCES) >= 10
    for resource in RESOURCES:
        kubernetes_validate.validate(resource, version, strict=True)  # strict: no unknown field either


def test_an_invalid_manifest_is_refused():
    broken = copy.deepcopy(DEPLOYMENTS["roadseg-serving"])
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_the_kustomization_lists_every_manifest_and_selects_every_image_docker_builds():
    listed = set(KUSTOMIZATION["resources"])
    assert listed == {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    built = {f"roadseg/{name}" for name in compose["services"]}
    assert {entry["name"] for entry in KUSTOMIZATION["images"]} == built  # one place selects registry and tag
    assert {c["image"] for _, c in containers()} == built
    assert KUSTOMIZATION["namespace"] == "roadseg" and "Namespace" in BY_KIND


def test_only_the_gateway_and_the_app_are_exposed_and_torchserve_stays_in_its_pod():
    services = BY_KIND["Service"]
    assert set(services) == {"roadseg-gateway", "roadseg-app"}
    reached = set()
    for service in services.values():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"  # from outside only through the Ingress
        ports = named_ports(pod_of_service(service))
        reached |= {ports[p["targetPort"]] for p in service["spec"]["ports"]}
    assert reached == {("gateway", 8000), ("streamlit", 8501)}
    backends = {
        path["backend"]["service"]["name"]
        for rule in BY_KIND["Ingress"]["roadseg"]["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == set(services)
    for _, container in containers():
        assert all("hostPort" not in p for p in container.get("ports", []))
    torchserve = next(c for _, c in containers() if c["name"] == "torchserve")
    assert "ports" not in torchserve
    addresses = {e["name"]: e["value"] for e in torchserve["env"] if e["name"].endswith("_ADDRESS")}
    assert len(addresses) == 5 and all("127.0.0.1" in a for a in addresses.values())  # loopback of the pod


def test_each_gateway_reads_its_own_torchserve_s_keys_from_a_pod_local_volume():
    pod = DEPLOYMENTS["roadseg-serving"]["spec"]["template"]["spec"]
    mounts = {c["name"]: {m["name"]: m for m in c["volumeMounts"]} for c in pod["containers"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["torchserve-keys"]  # per pod: never shared between replicas
    assert mounts["gateway"]["torchserve-keys"]["readOnly"] is True
    assert "readOnly" not in mounts["torchserve"]["torchserve-keys"]  # TorchServe writes key_file.json there
    gateway_env = {e["name"]: e["value"] for e in pod["containers"][1]["env"]}
    key_file = gateway_env["GATEWAY_TORCHSERVE_KEY_FILE"]
    assert key_file.startswith(mounts["gateway"]["torchserve-keys"]["mountPath"] + "/")
    assert gateway_env["GATEWAY_TORCHSERVE_INFERENCE_URL"].startswith("http://127.0.0.1:")


def test_probes_point_at_real_endpoints():
    gateway_paths = {path for path, item in create_app().openapi()["paths"].items() if "get" in item}
    real = {"gateway": gateway_paths, "streamlit": {STREAMLIT_HEALTH}}
    for name, deployment in DEPLOYMENTS.items():
        ports = named_ports(deployment["spec"]["template"])
        for _, container in [(n, c) for n, c in containers() if n == name]:
            probes = [container[k] for k in ("startupProbe", "readinessProbe", "livenessProbe") if k in container]
            assert probes, container["name"]
            for probe in probes:
                if "httpGet" in probe:
                    assert probe["httpGet"]["path"] in real[container["name"]]
                    assert ports[probe["httpGet"]["port"]][0] == container["name"]
                else:  # TorchServe's /ping, with the key only the pod holds, by the image's own health check
                    command = probe["exec"]["command"]
                    assert command[:2] == ["python", "/opt/roadseg/healthcheck.py"]
                    assert re.fullmatch(r"http://127\.0\.0\.1:8080/ping", command[2])
    gateway = next(c for _, c in containers() if c["name"] == "gateway")
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/health"  # ready only with a model worker ready
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/health/live"  # a slow model restarts nothing
    assert "COPY stack/healthcheck.py /opt/roadseg/healthcheck.py" in (DOCKER / "torchserve.Dockerfile").read_text()


def test_every_container_has_requests_and_limits_and_runs_unprivileged_as_the_images_user():
    for name, deployment in DEPLOYMENTS.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001  # the images' USER
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][kind].keys(), (name, container["name"])
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"]
            assert context["readOnlyRootFilesystem"] is True
    for dockerfile in ("torchserve", "gateway", "streamlit"):
        assert "USER 10001" in (DOCKER / f"{dockerfile}.Dockerfile").read_text()


def test_secrets_come_from_secrets_only():
    for _, container in containers():
        for env in container.get("env", []):
            if re.search(r"(KEY|TOKEN|PASSWORD|SECRET)$", env["name"]):
                assert "secretKeyRef" in env.get("valueFrom", {}), env["name"]
    for deployment in DEPLOYMENTS.values():
        assert deployment["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "roadseg-registry"}]
    assert BY_KIND["Ingress"]["roadseg"]["spec"]["tls"][0]["secretName"] == "roadseg-tls"
    assert "Secret" not in BY_KIND  # their values are the operator's, never in the repository


def test_the_serving_unit_scales_on_cpu():
    hpa = BY_KIND["HorizontalPodAutoscaler"]["roadseg-serving"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "roadseg-serving"}
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert BY_KIND["PodDisruptionBudget"]["roadseg-serving"]["spec"]["minAvailable"] >= 1


def test_network_policies_deny_by_default_and_open_only_the_service_ports():
    policies = BY_KIND["NetworkPolicy"]
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for name, deployment in DEPLOYMENTS.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        allowing = [
            p for p in policies.values() if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
        ]
        opened = {
            port["port"] for p in allowing for rule in p["spec"].get("ingress", []) for port in rule.get("ports", [])
        }
        declared = {port for _, port in named_ports(deployment["spec"]["template"]).values()}
        assert opened == declared, name  # TorchServe's ports are in neither


def test_clients_stay_with_the_replica_that_holds_their_video_jobs():
    gateway = BY_KIND["Service"]["roadseg-gateway"]["spec"]
    assert gateway["sessionAffinity"] == "ClientIP"
    assert BY_KIND["Ingress"]["roadseg"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
