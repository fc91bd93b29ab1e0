# ocspgate container image, built from a clean checkout:
#   podman build --format docker -t ocspgate .     (or docker build)
#   podman run -p 3128:3128 -p 127.0.0.1:9180:9180 ocspgate
# BASE and RUNTIME_BASE name the Debian 12 images to build on; a local
# one made with debootstrap and `podman import` works without any image
# registry (docs/deployment.md, "The container image").
ARG BASE=debian:12
ARG RUNTIME_BASE=debian:12-slim

FROM ${BASE} AS build
WORKDIR /src
# The build packages are the Makefile's list (make deps), kept in one place.
COPY Makefile .
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends make && \
    make deps && \
    rm -rf /var/lib/apt/lists/*
COPY . .
# Without the tests, which need Python and their peers, not the image.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF && \
    cmake --build /build -j"$(nproc)" --target ocspgate && \
    strip /build/ocspgate
# The image's configuration: the shipped one, with the proxy and the
# admin endpoint on every address of the container's own network
# namespace (publish 9180 on the host's loopback only: the endpoint has
# no authentication) and the events on standard output for the
# container's log. The build fails if a line to change is not there.
RUN sed -e 's|^listen = \[ "127.0.0.1:3128" \];|listen = [ "0.0.0.0:3128" ];|' \
        -e 's|^admin_listen = "127.0.0.1:9180";|admin_listen = "0.0.0.0:9180";|' \
        conf/ocspgate.conf > /build/ocspgate.conf && \
    grep -q '^listen = \[ "0.0.0.0:3128" \];' /build/ocspgate.conf && \
    grep -q '^admin_listen = "0.0.0.0:9180";' /build/ocspgate.conf && \
    grep -q '^event_log = "-";' /build/ocspgate.conf

FROM ${RUNTIME_BASE}
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends libevent-core-2.1-7 libevent-extra-2.1-7 \
        libssl3 libconfig9 zlib1g ca-certificates curl && \
    rm -rf /var/lib/apt/lists/* && \
    useradd --system --user-group --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin ocspgate
COPY --from=build /build/ocspgate /usr/sbin/ocspgate
COPY --from=build /build/ocspgate.conf /etc/ocspgate/ocspgate.conf
RUN /usr/sbin/ocspgate -t -c /etc/ocspgate/ocspgate.conf
USER ocspgate
EXPOSE 3128 9180
# The health check asks /healthz (200 while serving, 503 while draining
# after SIGTERM). A configuration mounted over /etc/ocspgate that moves
# admin_listen sets OCSPGATE_HEALTHZ to match (podman run -e ...).
ENV OCSPGATE_HEALTHZ=http://127.0.0.1:9180/healthz
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS "$OCSPGATE_HEALTHZ" || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/sbin/ocspgate"]
CMD ["-c", "/etc/ocspgate/ocspgate.conf"]
