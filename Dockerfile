# The API image: hverdag with its Python packages; the database is a separate PostGIS service
# (docker-compose.yml). Build context: the project root.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY geo ./geo
COPY loaders ./loaders
# The bundled real data: `hverdag demo --no-serve` loads it on request, never on start.
COPY data ./data
# EXTRAS=loaders adds the loaders' packages (pyogrio with its bundled GDAL, tqdm): needed to run
# `hverdag load` or `hverdag demo` in the container (docker-compose.yml builds it so); an image
# that only serves does without them (`docker build .`).
ARG EXTRAS=""
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" && useradd --system --no-create-home hverdag
USER hverdag
# The limits on a request's head and on idle connections (docs/reliability.md), stated here so
# an operator sees them; `hverdag serve` hands them to uvicorn.
ENV HVERDAG_HOST=0.0.0.0 HVERDAG_PORT=8000 HVERDAG_DATA_DIR=/app/data \
    HVERDAG_MAX_HEADER_BYTES=65536 HVERDAG_HEADER_TIMEOUT_S=10 HVERDAG_KEEP_ALIVE_S=5
EXPOSE 8000
# Healthy = ready to serve: the database answers and its migrations are at head.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2); sys.exit(0)"]
# Migrates the database to head (Alembic), then serves. One worker per container: scale by
# running more containers behind the load balancer (each worker has its own /metrics).
CMD ["hverdag", "serve", "--workers", "1"]
