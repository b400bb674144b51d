# The runtime of ../Dockerfile from binaries built outside it: scripts/images stages the
# authbench-node and authbench-load it is given, and the Swift runtime libraries they link, in
# .build-image/ (bin/ and lib/). For machines where the Swift build stage cannot run (no registry).
ARG RUNTIME_IMAGE=debian:bookworm-slim
FROM ${RUNTIME_IMAGE}
RUN if [ "$(dpkg-query -W -f '${Status}\n' libhiredis0.14 curl 2>/dev/null | grep -c 'ok installed')" != 2 ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends libhiredis0.14 ca-certificates curl \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY .build-image/ /usr/local/
ENV LD_LIBRARY_PATH=/usr/local/lib/swift
USER nobody
ENTRYPOINT ["authbench-node"]
CMD ["--help"]
