# The API image: hverdag with its Python packages; the database is a separate PostGIS service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY geo ./geo
COPY loaders ./loaders
COPY data ./data
RUN pip install --no-cache-dir . && useradd --system hverdag
USER hverdag
ENV HVERDAG_HOST=0.0.0.0 HVERDAG_DATA_DIR=/app/data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Migrates, loads the bundled data once, then serves.
CMD ["hverdag", "demo", "--workers", "2"]
