# One image for both binaries: the server is the default command, the worker
# runs with `worker` as the command. They share every layer (one cgo build,
# one librdkafka), so two targets would only double the build and the pulls.
#
# Build: go tool task image (buildah, no Docker engine needed), or
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t rps-server .

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# The module proxy settings of the machine that builds (image.sh passes the
# host's `go env`); empty keeps Go's defaults.
ARG GOPROXY
ARG GONOSUMDB
ARG GOSUMDB
ENV CGO_ENABLED=1 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# confluent-kafka-go links its bundled static librdkafka (cgo); the result
# needs only glibc at run time. The Go build cache survives between builds.
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ ./cmd/server ./cmd/worker

FROM debian:bookworm-slim
# glibc comes with the base; the CA bundle (for rediss:// and Kafka over TLS)
# from the build stage, as the slim image has none and needs no apt for it.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/server /out/worker /usr/local/bin/
COPY deployments/docker/readyz /usr/local/bin/readyz
# A numeric non-root user: nothing in the image needs a name for it.
USER 65532:65532
EXPOSE 8000
# The probe is bash over /dev/tcp (no curl in the image). It checks the
# server's /readyz on $PORT; a worker container runs `readyz 9100` with its
# admin port instead (docker-compose.yml does).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["readyz"]
CMD ["server"]
