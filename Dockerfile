# AuthBench node and load generator: a Swift build stage and a slim Debian runtime with libhiredis.
# No secret is baked in: the signing key arrives at run time (compose secret or a mounted file).
# The base images are build arguments, so that a machine without a registry can name its own
# (scripts/images); deploy/prebuilt.Dockerfile makes the same runtime from binaries built outside.
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Benchmarks ./Benchmarks
COPY Tests ./Tests
COPY Fuzz ./Fuzz
RUN swift build -c release --static-swift-stdlib --product authbench-node \
    && swift build -c release --static-swift-stdlib --product authbench-load \
    && mkdir -p /out/bin \
    && cp "$(swift build -c release --show-bin-path)/authbench-node" "$(swift build -c release --show-bin-path)/authbench-load" /out/bin/

FROM ${RUNTIME_IMAGE}
# An image that already carries the libraries (scripts/images' base) needs no package index.
RUN if [ "$(dpkg-query -W -f '${Status}\n' libhiredis0.14 curl 2>/dev/null | grep -c 'ok installed')" != 2 ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends libhiredis0.14 ca-certificates curl \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /out/ /usr/local/
USER nobody
ENTRYPOINT ["authbench-node"]
CMD ["--help"]
