# syntax=docker/dockerfile:1
# One image for all four Kintsugi services. The Deployment picks the service:
#   ENTRYPOINT ["python", "-m"]  +  args: ["services.intake"]   (or router, sla, notifier)
#
#   docker build -t kintsugi:dev .
#   docker run --rm -e KAFKA_BOOTSTRAP_SERVERS=host:9092 kintsugi:dev services.router
#
# Pin the base image by digest in your registry mirror for reproducible builds.
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: resolve the locked dependencies into /app/.venv ------------------------------
FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# Use the image's interpreter (never download one), compile bytecode now because the
# root file system is read-only at run time, and copy rather than hard-link from the cache.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /app

# Dependencies first, so a source-only change reuses this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself, installed as a regular (non-editable) package: the run stage
# needs nothing but the virtualenv. The wheel carries the YAML policies, the routing
# directory and the notifier's templates alongside the code.
COPY libs/ libs/
COPY services/ services/
RUN uv sync --frozen --no-dev --no-editable

# --- run: the virtualenv on a clean base, as an unprivileged user -----------------------
FROM ${PYTHON_IMAGE} AS run

RUN groupadd --system --gid 10001 kintsugi \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin kintsugi

COPY --from=build --chown=0:0 /app/.venv /app/.venv

# The sla service's Faust data folder; Kubernetes mounts an emptyDir over it.
RUN mkdir -p /var/lib/kintsugi/sla && chown -R 10001:10001 /var/lib/kintsugi

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KINTSUGI_SLA_DATA_DIR=/var/lib/kintsugi/sla

# An empty working directory: `python -m` puts it first on sys.path, so nothing in it
# may shadow the installed packages.
WORKDIR /app/run
USER 10001:10001

# intake gRPC; ops (/metrics, /healthz, /readyz) of intake, router, sla, notifier
EXPOSE 50051 9101 9102 9103 9104

ENTRYPOINT ["python", "-m"]
CMD ["services.intake"]
