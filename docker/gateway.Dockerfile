# The FastAPI gateway (no PyTorch: the roadseg core and the gateway only). Build from the repository root:
# docker build -f docker/gateway.Dockerfile -t roadseg/gateway .
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
# Every package pinned with its hash (`make locks`): the image built next year has the same ones.
COPY docker/locks/gateway.txt /tmp/gateway.txt
RUN pip install --require-hashes --no-deps -r /tmp/gateway.txt
# The torch-free core and the gateway only.
COPY pyproject.toml ./
COPY roadseg roadseg
COPY gateway gateway
RUN pip install --no-deps .

FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin roadseg \
    && mkdir -p /var/lib/roadseg/videos && chown 10001 /var/lib/roadseg/videos
COPY --from=build /opt/venv /opt/venv
COPY stack/healthcheck.py /opt/roadseg/healthcheck.py
# TorchServe by its compose service name; its keys from the shared key-file volume.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GATEWAY_TORCHSERVE_INFERENCE_URL=http://torchserve:8080 \
    GATEWAY_TORCHSERVE_MANAGEMENT_URL=http://torchserve:8081 \
    GATEWAY_TORCHSERVE_KEY_FILE=/srv/torchserve/key_file.json \
    GATEWAY_VIDEO_DIR=/var/lib/roadseg/videos
# Video jobs (records, uploads, results) live here: mount a volume on it and they survive a restart.
VOLUME /var/lib/roadseg/videos
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/opt/roadseg/healthcheck.py", "http://127.0.0.1:8000/health"]
CMD ["uvicorn", "gateway.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--forwarded-allow-ips", "*"]
