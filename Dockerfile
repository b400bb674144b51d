# AuthBench node and load generator: a Swift 6 build stage and a slim runtime with libhiredis.
# No secret is baked in: the signing key arrives at run time (compose secret or a mounted file).
FROM swift:6.1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Benchmarks ./Benchmarks
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product authbench-node \
    && swift build -c release --static-swift-stdlib --product authbench-load \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/authbench-node" "$(swift build -c release --show-bin-path)/authbench-load" /out/

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis0.14 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
USER nobody
ENTRYPOINT ["authbench-node"]
CMD ["--help"]
