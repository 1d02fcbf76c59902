# syntax=docker/dockerfile:1
# citytwin: one binary, built with cgo against GEOS (go-geos).

# The dashboard's assets (web/ui), built with the committed lockfile.
FROM node:22-bookworm-slim AS ui
WORKDIR /ui
COPY web/ui/package.json web/ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ui/ ./
RUN npm run build

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgeos-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that editing the source reuses the module layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /ui/dist web/ui/dist
RUN CGO_ENABLED=1 go build -tags ui -trimpath -ldflags="-s -w" -o /citytwin ./cmd/citytwin

FROM debian:bookworm-slim
# libgeos-c1v5 is the GEOS C API the binary links against; ca-certificates
# for InfluxDB or MQTT over TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgeos-c1v5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/citytwin --shell /usr/sbin/nologin citytwin \
 && install -d -o citytwin -g citytwin -m 0750 /var/lib/citytwin
COPY --from=build /citytwin /usr/local/bin/citytwin
USER citytwin
# A named volume mounted here starts with this directory's owner (citytwin).
VOLUME /var/lib/citytwin
ENV CITYTWIN_DATA_DIR=/var/lib/citytwin \
    CITYTWIN_HTTP_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/citytwin"]
CMD ["serve"]
