# ucs-graphql: build the package and serve on 0.0.0.0:8080.
# Mount a configuration with users at /etc/ucs/ucs.toml (UCS_CONFIG) for a protected server; the default
# command passes --allow-open-network visibly, because a container is reached through its published port.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ucs_graphql ./ucs_graphql
COPY rest_compat ./rest_compat
RUN pip install --no-cache-dir . && mkdir -p /data
ENV UCS_DATABASE_URL=sqlite:////data/ucs.db
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["ucs-graphql", "serve", "--host", "0.0.0.0", "--port", "8080", "--allow-open-network"]
