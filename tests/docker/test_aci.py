import yaml

from tests.docker.conftest import DOCKER, load_script

aci = load_script(DOCKER / "azure" / "aci.py", "docker_aci")

ENV = {
    "AZ_RESOURCE_GROUP": "rg-test",
    "AZ_REGISTRY": "acrtest",
    "AZ_DNS_PREFIX": "roadseg-t",
    "AZ_LOCATION": "northeurope",
    "IMAGE_TAG": "abc123",
    "ACR_USERNAME": "puller",
    "ACR_PASSWORD": "hunter2",
    "AZ_STORAGE_ACCOUNT": "sttest",
    "GATEWAY_TORCHSERVE_INFERENCE_KEY": "inf-secret",
}


def test_container_group_renders_to_valid_yaml_of_the_expected_shape():
    group = yaml.safe_load(aci.render_group(aci.AzureSettings.from_env(ENV)))
    assert group["type"] == "Microsoft.ContainerInstance/containerGroups" and group["location"] == "northeurope"
    properties = group["properties"]
    assert [c["name"] for c in properties["containers"]] == ["torchserve", "gateway", "streamlit"]
    assert [p["port"] for p in properties["ipAddress"]["ports"]] == [8000, 8501]  # TorchServe stays private
    assert properties["ipAddress"]["dnsNameLabel"] == "roadseg-t"
    containers = {c["name"]: c["properties"] for c in properties["containers"]}
    assert containers["torchserve"]["image"] == "acrtest.azurecr.io/roadseg/torchserve:abc123"
    gateway_env = {e["name"]: e for e in containers["gateway"]["environmentVariables"]}
    assert gateway_env["GATEWAY_TORCHSERVE_INFERENCE_URL"]["value"] == "http://localhost:8080"
    assert gateway_env["GATEWAY_TORCHSERVE_INFERENCE_KEY"] == {
        "name": "GATEWAY_TORCHSERVE_INFERENCE_KEY",
        "secureValue": "inf-secret",
    }
    assert containers["streamlit"]["environmentVariables"] == [{"name": "API_URL", "value": "http://localhost:8000"}]
    assert containers["gateway"]["volumeMounts"][0]["readOnly"] is True
    probe = containers["torchserve"]["readinessProbe"]["exec"]["command"]
    assert probe == [
        "python",
        "/opt/roadseg/healthcheck.py",
        "http://127.0.0.1:8080/ping",
        "--key-file",
        "/srv/torchserve/key_file.json",
    ]


def test_managed_identity_replaces_the_registry_password():
    env = {k: v for k, v in ENV.items() if not k.startswith("ACR_")} | {"AZ_ACR_IDENTITY": "/subscriptions/s/id"}
    group = yaml.safe_load(aci.render_group(aci.AzureSettings.from_env(env)))
    assert group["properties"]["imageRegistryCredentials"] == [
        {"server": "acrtest.azurecr.io", "identity": "/subscriptions/s/id"}
    ]
    assert "/subscriptions/s/id" in group["identity"]["userAssignedIdentities"]


def test_missing_settings_are_named():
    import pytest

    with pytest.raises(SystemExit, match="AZ_REGISTRY, AZ_DNS_PREFIX"):
        aci.AzureSettings.from_env({"AZ_RESOURCE_GROUP": "rg"})


def test_dry_run_prints_every_az_command_and_no_secret(capsys):
    for command in (
        ["build-push"],
        ["deploy-group"],
        ["deploy-instances"],
        ["teardown"],
        ["teardown", "--instances"],
        ["teardown", "--resource-group-too"],
    ):
        assert aci.main([*command, "--dry-run"], env=ENV) == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if line.startswith("$ az ")]
    assert sum("az acr build --registry acrtest" in c for c in commands) == 3
    assert any(c.startswith("$ az container create --resource-group rg-test --file ") for c in commands)
    created = [c for c in commands if "--name roadseg-" in c and "container create" in c]
    assert [c.split("--name ")[1].split()[0] for c in created] == [
        "roadseg-torchserve",
        "roadseg-gateway",
        "roadseg-streamlit",
    ]
    assert "API_URL=http://roadseg-t-api.northeurope.azurecontainer.io:8000" in out
    assert "--secure-environment-variables GATEWAY_TORCHSERVE_INFERENCE_KEY=***" in out
    assert "az container delete --resource-group rg-test --name roadseg --yes" in out
    assert "az group delete --name rg-test --yes --no-wait" in out
    assert "hunter2" not in out and "inf-secret" not in out
    assert "app: http://roadseg-t.northeurope.azurecontainer.io:8501" in out
