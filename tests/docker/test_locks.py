"""The lock files agree with pyproject.toml's pins, carry hashes, and are what the Dockerfiles install."""

import re

import pytest

from tests.docker.conftest import DOCKER, load_script

lock = load_script(DOCKER / "lock.py", "docker_lock")


def locked(image: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of docker/locks/<image>.txt."""
    text = (DOCKER / "locks" / f"{image}.txt").read_text()
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            entries[lock.requirement_name(match[1])] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


@pytest.mark.parametrize("image", sorted(lock.IMAGES))
def test_every_pin_of_the_image_is_locked_at_the_same_version_with_hashes(image):
    entries = locked(image)
    assert entries and all(hashes for _, hashes in entries.values())
    cpu = (DOCKER / "locks" / "torch-cpu.txt").read_text()
    for line in lock.requirements(lock.IMAGES[image]):
        name, version = lock.requirement_name(line), line.split("==")[1]
        if name in lock.CPU_WHEELS:
            assert f"{name}=={version}+cpu" in cpu.splitlines() and name not in entries
        else:
            assert entries.get(name, (None,))[0] == version, f"{image}: {name} is not locked at {version}"


def test_gateway_and_app_images_get_no_pytorch_and_no_cuda():
    for image in ("gateway", "streamlit"):
        assert not set(locked(image)) & {"torch", "torchvision", "torchserve", "cityscapesscripts"}
    assert not any(lock.CUDA_ONLY.match(name) for name in locked("torchserve"))


@pytest.mark.parametrize("image", sorted(lock.IMAGES))
def test_dockerfile_installs_its_lock_with_required_hashes(image):
    text = (DOCKER / f"{image}.Dockerfile").read_text()
    assert f"docker/locks/{image}.txt" in text
    assert re.search(rf"pip install --require-hashes --no-deps -r /tmp/{image}.txt", text)
    installs = re.findall(r"pip install ([^&\n\\]*)", text)
    for args in installs:  # nothing is installed from a bare name: only the locks and the project itself
        assert "-r /tmp/" in args or args.strip() == "--no-deps .", args


def test_the_torchserve_image_installs_no_training_only_package():
    """What the training extra pins beyond the runtime and serving ones is in the TorchServe lock only where a
    runtime package needs it (uv's `# via` names who asked), never because of training."""
    text = (DOCKER / "locks" / "torchserve.txt").read_text()
    names = lambda extras: {lock.requirement_name(line) for line in lock.requirements(extras)}
    training_only = names(["training"]) - names(["serving"])
    assert training_only >= {"matplotlib", "onnx", "onnxscript"}
    for name in training_only:
        block = re.search(rf"(?ms)^{re.escape(name)}==.*?(?=^[A-Za-z0-9]|\Z)", text)
        assert block is None or "-r pyproject-extras.in" not in block[0], f"{name} is installed for training"


def test_both_torch_sources_pin_the_project_s_versions():
    """torch-cpu.txt (PyTorch's CPU index, +cpu) and torch-pypi.txt (PyPI's build): the Dockerfile's TORCH_LOCK."""
    pins = {lock.requirement_name(line): line.split("==")[1] for line in lock.requirements(["runtime"])}
    for name, suffix in (("torch-cpu.txt", "+cpu"), ("torch-pypi.txt", "")):
        lines = [line for line in (DOCKER / "locks" / name).read_text().splitlines() if not line.startswith("#")]
        assert lines == [f"{wheel}=={pins[wheel]}{suffix}" for wheel in lock.CPU_WHEELS], name
    dockerfile = (DOCKER / "torchserve.Dockerfile").read_text()
    assert (
        "ARG TORCH_LOCK=torch-cpu.txt" in dockerfile and "COPY docker/locks/${TORCH_LOCK} /tmp/torch.txt" in dockerfile
    )
