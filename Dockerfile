# Assembly Bot: a slim image that runs as an unprivileged user and keeps its data in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system assembly && useradd --system --gid assembly --home-dir /app assembly

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY scheduler ./scheduler
COPY migrations ./migrations
COPY locales ./locales
# The exact versions CI tested (requirements.lock); only the bot's own dependencies are installed.
RUN pip install -c requirements.lock . && mkdir -p /app/data && chown assembly:assembly /app/data

USER assembly
# The default SQLite database lives here; with PostgreSQL it stays empty.
VOLUME ["/app/data"]
EXPOSE 8080

# `check` is read-only and light: the settings parse, the database answers and its schema is at
# the migrations' head (it never migrates, so it cannot race the start-up of `run`); exit 1 if not.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["python", "-m", "bot", "check"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
