"""log4j2.xml, TorchServe's logging: the files the tests and the benchmark read, each line written once."""

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import ts

REPO_ROOT = Path(__file__).resolve().parents[1]


def loggers(root: ET.Element) -> dict[str, ET.Element]:
    return {logger.get("name", ""): logger for logger in root.iter("Logger")}


def appender_names(root: ET.Element) -> set[str]:
    section = root.find("Appenders")
    assert section is not None
    return {appender.get("name", "") for appender in section}


def test_every_logger_with_its_own_file_writes_only_there_and_nothing_is_at_debug():
    config = ET.parse(REPO_ROOT / "log4j2.xml").getroot()
    appenders = appender_names(config)
    named = loggers(config)
    for name in ("ACCESS_LOG", "MODEL_LOG", "MODEL_METRICS", "TS_METRICS", "org.pytorch.serve"):
        logger = named[name]
        assert logger.get("additivity") == "false", name
        assert {ref.get("ref") for ref in logger.iter("AppenderRef")} <= appenders
    assert all(logger.get("level") != "debug" for logger in named.values())
    # The files the batching test (model_log) and benchmarks.serving (the metrics) read.
    files = {a.get("name"): a.get("fileName", "") for a in config.iter("RollingFile")}
    for name in ("model_log", "model_metrics", "ts_metrics", "access_log", "ts_log"):
        assert files[name].endswith(f"/{name}.log")


def test_it_keeps_the_appenders_of_the_installed_torchserve():
    jar = Path(ts.__file__).parent / "frontend" / "model-server.jar"
    with zipfile.ZipFile(jar) as archive:
        default = ET.fromstring(archive.read("log4j2.xml"))
    ours = ET.parse(REPO_ROOT / "log4j2.xml").getroot()
    assert set(loggers(default)) == set(loggers(ours))
    assert appender_names(default) == appender_names(ours)
