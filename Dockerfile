# Multi-stage build of every TitikTemu binary: the three services, `migrate`
# and the Apollo Router. One image, one binary per container (see
# docker-compose.yml).

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
      -p auth-service -p event-service -p attendance-service -p migration -p titiktemu-router \
 && mkdir /out \
 && cp target/release/auth-service target/release/event-service target/release/attendance-service \
       target/release/migrate target/release/titiktemu-router /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /app titiktemu
WORKDIR /app
COPY --from=build /out/ /usr/local/bin/
COPY router/router.prod.yaml /app/router/router.prod.yaml
COPY supergraph.graphql /app/supergraph.graphql
USER titiktemu
ENV APP_ENV=production APOLLO_TELEMETRY_DISABLED=true HOST=0.0.0.0
