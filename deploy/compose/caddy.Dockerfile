# Caddy from Debian's package, on the stack image; run as the official image is (XDG dirs /config, /data).
ARG STACK_IMAGE=paas/stack:bookworm
FROM ${STACK_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends caddy curl \
    && rm -rf /var/lib/apt/lists/*
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
