# The Streamlit app (talks to the gateway only; no PyTorch): the app and the torch-free roadseg core it draws with.
# Build from the repository root: docker build -f docker/streamlit.Dockerfile -t roadseg/streamlit .
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
# Every package pinned with its hash (`make locks`): the image built next year has the same ones.
COPY docker/locks/streamlit.txt /tmp/streamlit.txt
RUN pip install --require-hashes --no-deps -r /tmp/streamlit.txt
COPY pyproject.toml ./
COPY roadseg roadseg
RUN pip install --no-deps .

FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin roadseg
COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/roadseg
COPY .streamlit .streamlit
COPY streamlit streamlit
COPY stack/healthcheck.py healthcheck.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    API_URL=http://gateway:8000
USER 10001
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/opt/roadseg/healthcheck.py", "http://127.0.0.1:8501/_stcore/health"]
CMD ["streamlit", "run", "streamlit/app.py", "--server.port", "8501", "--server.address", "0.0.0.0"]
