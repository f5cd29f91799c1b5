# ucs-graphql: serves REST and GraphQL on 0.0.0.0:8080 as an unprivileged user (docs/operations.md, "Container").
#
# Mount the configuration at /etc/ucs-graphql/ucs.toml: the server reads it by default (UCS_CONFIG names
# another file). Without [[users]] in it the server refuses to start, because everyone who reaches the published
# port could read and change every record; configure users (docs/access.md), or accept that risk in the file
# itself with allow_open_network = true under [security]. /data is the volume of the SQLite database.
FROM python:3.11-slim

WORKDIR /app
# Dependencies first, at the versions of constraints.txt: this layer is rebuilt when pyproject.toml or
# constraints.txt changes, not on every change of the source.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY ucs_graphql ./ucs_graphql
COPY rest_compat ./rest_compat
RUN pip install --no-cache-dir --no-deps . \
    && groupadd --system --gid 10001 ucs \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin ucs \
    && mkdir -p /data /etc/ucs-graphql \
    && chown ucs:ucs /data

ENV UCS_HOST=0.0.0.0 \
    UCS_PORT=8080 \
    UCS_DATABASE_URL=sqlite:////data/ucs.db \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://localhost:' + os.environ.get('UCS_PORT', '8080') + '/healthz', timeout=4)"]
CMD ["ucs-graphql", "serve"]
