# TorchServe with the roadseg archives (every shipped version) built from the committed weights; CPU-only PyTorch.
# The core, the runtime (segmenter) and the handler only: no training code or training-only package.
# Build from the repository root: docker build -f docker/torchserve.Dockerfile -t roadseg/torchserve .
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
# Where PyTorch's wheels come from. Default: PyTorch's CPU index and the +cpu pins (torch-cpu.txt), no CUDA.
# A builder that cannot reach it (behind a mirror, or these machines) takes PyPI's build, which carries CUDA:
#   --build-arg TORCH_INDEX_URL=https://pypi.org/simple --build-arg TORCH_LOCK=torch-pypi.txt
# (about 4 GB more in the image: docs/DEPLOY.md).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_LOCK=torch-cpu.txt
# Every package pinned with its hash (`make locks`), then PyTorch (exact versions; its CUDA libraries, if any,
# come as its own dependencies).
COPY docker/locks/torchserve.txt /tmp/torchserve.txt
COPY docker/locks/${TORCH_LOCK} /tmp/torch.txt
RUN pip install --require-hashes --no-deps -r /tmp/torchserve.txt \
 && pip install --index-url "${TORCH_INDEX_URL}" -r /tmp/torch.txt \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +
COPY pyproject.toml ./
COPY roadseg roadseg
COPY segmenter segmenter
COPY handler handler
COPY models models
RUN pip install --no-deps . \
 && python -m handler.archive shipped --model-store /opt/model_store

FROM python:3.11-slim-bookworm
# Debian's JRE 17 follows bookworm's security updates: pinning its exact version would break rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home --shell /usr/sbin/nologin roadseg \
 && mkdir -p /srv/torchserve \
 && chown roadseg /srv/torchserve
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/model_store /opt/model_store
COPY config.properties log4j2.xml /opt/roadseg/
COPY stack/healthcheck.py /opt/roadseg/healthcheck.py
# Listen on all interfaces inside the container; compose/ACI decide what is reachable from outside.
# The key file (token authorization) lands in the working directory, a volume the gateway also mounts.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TS_INFERENCE_ADDRESS=http://0.0.0.0:8080 \
    TS_MANAGEMENT_ADDRESS=http://0.0.0.0:8081 \
    TS_METRICS_ADDRESS=http://0.0.0.0:8082
WORKDIR /srv/torchserve
USER 10001
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "/opt/roadseg/healthcheck.py", "http://127.0.0.1:8080/ping", "--key-file", "/srv/torchserve/key_file.json"]
CMD ["torchserve", "--start", "--foreground", "--ncs", "--ts-config", "/opt/roadseg/config.properties", \
     "--log-config", "/opt/roadseg/log4j2.xml", \
     "--model-store", "/opt/model_store", "--models", "roadseg=roadseg_v3.0.mar,roadseg=roadseg_v4.0.mar,roadseg=roadseg_v2.0.mar,roadseg=roadseg_v1.0.mar,roadseg-rt=roadseg-rt_v2.0.mar,roadseg-rt=roadseg-rt_v1.0.mar"]
