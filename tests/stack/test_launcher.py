"""`python -m stack` refuses to start beside something that already holds one of its ports."""

import socket

import pytest

import stack.__main__ as launcher
from stack.processes import TorchServePorts, free_port


@pytest.fixture
def listening():
    """A port something is listening on, as a running `make run` would be."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def nothing_starts(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the launcher started something although a port was taken")

    for name in ("ensure_archives", "start_torchserve", "start_gateway", "start_streamlit"):
        monkeypatch.setattr(launcher, name, fail)


def run(*argv: str) -> int:
    return launcher.main(launcher.get_args_parser().parse_args(list(argv)))


def test_a_taken_gateway_port_stops_the_launcher_with_a_sentence_naming_it(listening, nothing_starts, capsys):
    ports = [str(p) for p in TorchServePorts.free().named().values()]
    assert run("--gateway-port", str(listening), "--app-port", str(free_port()), "--torchserve-ports", *ports) == 2
    assert f"port {listening} (gateway) on 127.0.0.1 is already in use" in capsys.readouterr().err


def test_a_taken_torchserve_port_is_named_too(listening, nothing_starts, capsys):
    others = [str(free_port()) for _ in range(4)]
    argv = ["--gateway-port", str(free_port()), "--app-port", str(free_port())]
    assert run(*argv, "--torchserve-ports", str(listening), *others) == 2
    assert f"port {listening} (TorchServe inference)" in capsys.readouterr().err


def test_the_default_torchserve_ports_include_grpc():
    args = launcher.get_args_parser().parse_args([])
    assert args.torchserve_ports == [8080, 8081, 8082, 7070, 7071]
