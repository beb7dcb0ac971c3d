from tests.docker.conftest import DOCKER, load_script

requirements = load_script(DOCKER / "requirements.py", "docker_requirements").requirements


def names(lines):
    return {line.split("==")[0] for line in lines}


def test_gateway_and_app_images_get_no_pytorch():
    for extra in ("gateway", "app"):
        assert not names(requirements([extra], core=True)) & {"torch", "torchvision", "torchserve"}


def test_serving_image_gets_torch_and_torchserve_pinned():
    lines = requirements(["serving"], core=True)
    assert {"torch==2.14.1", "torchvision==0.29.1", "torchserve==0.12.0"} <= set(lines)
    assert all("==" in line for line in lines)
