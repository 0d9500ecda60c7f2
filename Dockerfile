# obflow: build wheels in one stage, install them into a slim runtime in the next.
# Offline builds: `make wheelhouse` fills ./wheelhouse with every dependency's wheel, then
# `docker build --build-arg PIP_NO_INDEX=1 .` never touches the network.
FROM python:3.11-slim AS build
ARG PIP_NO_INDEX=0
ENV PIP_NO_INDEX=${PIP_NO_INDEX} PIP_FIND_LINKS=/wheelhouse PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY wheelhouse/ /wheelhouse/
COPY pyproject.toml README.md ./
COPY engine/ engine/
COPY connectors/ connectors/
COPY strategies/ strategies/
COPY replay/ replay/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 METRICS_PORT=9108
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels obflow \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 obflow \
    && python -c "from engine.warmup import warm_up; warm_up()"
WORKDIR /home/obflow
COPY configs/ configs/
USER 10001
EXPOSE 9108
# The endpoint `obflow live` serves; a one-shot replay exits before the first check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["obflow", "latency", "--url", "http://127.0.0.1:9108/metrics"]
CMD ["sh", "-c", "obflow synth --out /tmp/demo --events 200000 && obflow replay --config configs/replay_synth.toml --data /tmp/demo --out /tmp/report"]
