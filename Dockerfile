# ocspgate container: built with the same `make build` as on a host.
#   docker build -t ocspgate .
#   docker run -p 3128:3128 ocspgate
FROM debian:12 AS build
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends make ca-certificates && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make build BUILD=build BUILD_TYPE=Release

FROM debian:12-slim
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends libevent-2.1-7 libevent-extra-2.1-7 \
        libssl3 libconfig9 zlib1g curl && \
    rm -rf /var/lib/apt/lists/* && \
    useradd --system --no-create-home --shell /usr/sbin/nologin ocspgate
COPY --from=build /src/build/ocspgate /usr/sbin/ocspgate
# Inside a container the proxy listens on all addresses of its own
# network namespace; the events go to stdout for `docker logs`.
COPY conf/ocspgate.conf /etc/ocspgate/ocspgate.conf
RUN sed -i 's|"127.0.0.1:3128"|"0.0.0.0:3128"|' /etc/ocspgate/ocspgate.conf && \
    /usr/sbin/ocspgate -t -c /etc/ocspgate/ocspgate.conf
USER ocspgate
EXPOSE 3128
# The shipped config serves /healthz on 127.0.0.1:9180 (inside the
# container): 200 while serving, 503 while draining after SIGTERM.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS http://127.0.0.1:9180/healthz || exit 1
ENTRYPOINT ["/usr/sbin/ocspgate"]
CMD ["-c", "/etc/ocspgate/ocspgate.conf"]
