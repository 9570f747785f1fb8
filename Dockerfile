FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ivr ivr
COPY callbacks callbacks
COPY deflection deflection
COPY api api
COPY dialplan dialplan
COPY prompts prompts
RUN pip install --no-cache-dir -e .
CMD ["sh", "-c", "ivr db upgrade && ivr prompts build && exec ivr serve"]
