# syntax=docker/dockerfile:1
# One image for every g3n process; docker-compose.yml picks the process with `command`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir uv

WORKDIR /app

# Third-party dependencies first (a layer that survives code changes) ...
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --all-packages --no-dev --no-install-workspace
# ... then the workspace packages themselves.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --all-packages --no-dev

ENV PATH=/app/.venv/bin:$PATH
RUN useradd --system --uid 10001 --home-dir /app g3n
USER g3n

CMD ["python", "-m", "g3n_influencer.entrypoints.http"]
