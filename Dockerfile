# syntax=docker/dockerfile:1
# NioChat production image: API (`niochat serve`), worker, migrations, Dagster and Dash all run from it
# (docker-compose.yml picks the command per service).

FROM python:3.11-slim AS build
# Compilers only here, for any dependency without a wheel for the build platform; the runtime stage stays slim.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/var/lib/dagster \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
RUN useradd --create-home --uid 10001 --user-group niochat \
    && mkdir -p /app /var/lib/dagster \
    && chown niochat:niochat /app /var/lib/dagster
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# dbt reads its project from disk (and writes target/ and logs/ into it), so it ships as files, not a package.
COPY --chown=niochat:niochat dbt_project/ ./dbt_project/
USER niochat
EXPOSE 8000
CMD ["niochat", "serve"]
