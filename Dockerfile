# Observer: the Discord bot with its bundled offline models, on Debian 12 and its Python 3.11.
#   docker build -t observer .        (or: docker compose build; podman build works the same)
#   docker run --rm -e DISCORD_TOKEN=… -v observer-data:/data observer
# The README's "Containers" section has the compose quick start, upgrades and backups.

# ---- toolchain: Python, a compiler, and llama.cpp compiled portable into a virtual environment ----
FROM debian:bookworm-slim AS toolchain

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-dev build-essential cmake ca-certificates \
 && rm -rf /var/lib/apt/lists/*

ENV VIRTUAL_ENV=/opt/observer/venv PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv "$VIRTUAL_ENV" && "$VIRTUAL_ENV/bin/pip" install -q --upgrade pip
ENV PATH="$VIRTUAL_ENV/bin:$PATH"

# A build tuned to the building CPU (-march=native) would crash on an older one, and on CPUs with
# AMX; the image runs anywhere with AVX2 (x86-64, 2013 on). Set LLAMA_CMAKE_ARGS to choose your own.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
RUN if [ "$(uname -m)" = "x86_64" ]; then export CMAKE_ARGS="$LLAMA_CMAKE_ARGS"; else export CMAKE_ARGS="-DGGML_NATIVE=OFF"; fi \
 && pip install -q "llama-cpp-python>=0.3.8,<0.4"

# ---- requirements: the dependency list alone, so that only a change to it reinstalls them ----
FROM toolchain AS requirements
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > /requirements.txt

# ---- build: dependencies in a layer of their own, then Observer (a code change rebuilds only that) ----
FROM toolchain AS build
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN pip install -q -r /tmp/requirements.txt

COPY . /src
RUN pip install -q --no-deps /src \
 && cp -r /src/prompts /opt/observer/prompts
# Compiled now: the image runs as a user who cannot write the venv, so Python could not cache them and
# every start would compile again. (A few packages ship files for other Pythons: their errors are not ours.)
RUN python3 -m compileall -q -j 0 /opt/observer/venv/lib >/dev/null 2>&1 || true

# ---- run: the venv, the prompts and the runtime libraries; nothing to compile with ----
FROM debian:bookworm-slim

# libgomp1: llama.cpp's threads; libopus0: Discord voice; tini: signals forwarded, zombies reaped.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 libgomp1 libopus0 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/observer --shell /usr/sbin/nologin observer \
 && mkdir -p /data /config && chown observer:observer /data

COPY --from=build /opt/observer /opt/observer

ENV PATH="/opt/observer/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    OBSERVER_DATA_DIR=/data \
    OBSERVER_PROMPTS_DIR=/opt/observer/prompts \
    HF_HUB_OFFLINE=1

# /data: the record, memory and caches (a volume). /config: where ./observer.toml (your model list)
# is read from when you mount one; the container writes nowhere else.
USER observer
WORKDIR /config
VOLUME ["/data"]

# Healthy while every shard this process holds is connected to the gateway (`observer health`).
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["observer", "health"]

# SIGTERM (docker stop) drains as `observer run` does: replies in flight finish, writes are flushed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["observer", "run"]
