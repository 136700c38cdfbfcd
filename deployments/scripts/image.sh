#!/usr/bin/env bash
# The container image, built for real without a Docker engine: buildah builds
# the Dockerfile unchanged (chroot isolation, no daemon). When the base images
# the Dockerfile names cannot be pulled (this machine reaches no registry),
# they are made here from Debian packages (mmdebstrap) and the local Go
# toolchain, under the same names, so the Dockerfile stays the one a Docker
# user builds.
#
# Usage: deployments/scripts/image.sh base|build|smoke|all
#   base   make the base images that are missing (debian:bookworm-slim,
#          golang:<GO_VERSION>-bookworm); never replaces one that exists
#   build  base, then buildah bud the Dockerfile into $IMAGE (tags :latest and
#          :<version>), printing the build time and the image size
#   smoke  run the built image's binaries: server -version, worker -version,
#          and the server in embedded mode answering GET / on 127.0.0.1
#   all    build, then smoke (what `go tool task image` runs)
#
# Environment: IMAGE (default rps-server), VERSION (default: git describe),
# SMOKE_PORT (default 24080, on 127.0.0.1), SSL_CERT_FILE (the CA bundle the
# build mounts for the Go module proxy; default /etc/ssl/certs/ca-certificates.crt).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
IMAGE="${IMAGE:-rps-server}"
SUITE=bookworm
SLIM="docker.io/library/debian:$SUITE-slim"
GO_VERSION="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$REPO/go.mod")"
GOLANG="docker.io/library/golang:$GO_VERSION-$SUITE"
CA="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
SMOKE_PORT="${SMOKE_PORT:-24080}"

say() { printf 'image.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

need() { # need COMMAND PACKAGE: install Debian's package when missing and root
	command -v "$1" >/dev/null && return
	[ "$(id -u)" = 0 ] || die "$1 missing: apt-get install $2"
	say "installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || die "apt-get install $2 failed"
}

have_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# rootfs NAME TAR [PACKAGES]: a minbase Debian root file system as a tarball,
# without documentation and translations, as Debian's slim images are made.
rootfs() {
	say "mmdebstrap $SUITE (${3:-minbase}) for $1"
	local opts=(--quiet --variant=minbase --aptopt='Acquire::Languages "none"')
	for p in doc man info locale groff lintian linda; do
		opts+=(--dpkgopt="path-exclude=/usr/share/$p/*")
	done
	opts+=(--dpkgopt='path-include=/usr/share/doc/*/copyright')
	[ -n "${3:-}" ] && opts+=(--include="$3")
	mmdebstrap "${opts[@]}" "$SUITE" "$2"
}

base() {
	need buildah buildah
	need mmdebstrap mmdebstrap
	local c
	TMP="$(mktemp -d)"
	trap 'rm -rf "$TMP"' EXIT
	if ! have_image "$SLIM"; then
		# Like Debian's slim image: no CA bundle (the Dockerfile copies one).
		rootfs "$SLIM" "$TMP/slim.tar"
		c="$(buildah from --pull=never scratch)"
		buildah add --quiet "$c" "$TMP/slim.tar" / >/dev/null
		buildah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
		buildah commit --quiet --rm "$c" "$SLIM" >/dev/null
		say "made $SLIM"
	fi
	if ! have_image "$GOLANG"; then
		local goroot
		goroot="$(go env GOROOT)"
		[ "$(go env GOVERSION)" = "go$GO_VERSION" ] || die "local Go is $(go env GOVERSION), go.mod names go$GO_VERSION"
		rootfs "$GOLANG" "$TMP/golang.tar" ca-certificates,gcc,libc6-dev,make,pkg-config
		c="$(buildah from --pull=never scratch)"
		buildah add --quiet "$c" "$TMP/golang.tar" / >/dev/null
		# The official image's layout: Go in /usr/local/go, GOPATH /go.
		buildah add --quiet "$c" "$goroot" /usr/local/go >/dev/null
		buildah config --workingdir /go --cmd bash \
			--env GOLANG_VERSION="$GO_VERSION" --env GOTOOLCHAIN=local --env GOPATH=/go \
			--env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
		buildah commit --quiet --rm "$c" "$GOLANG" >/dev/null
		say "made $GOLANG"
	fi
}

version() {
	if [ -n "${VERSION:-}" ]; then
		printf '%s\n' "$VERSION"
	else
		git -C "$REPO" describe --tags --always --dirty 2>/dev/null || echo dev
	fi
}

build() {
	base
	local v start args=()
	v="$(version)"
	# The module proxy, as the host's Go sees it, and its CA bundle (this
	# machine's proxy has a CA of its own that Debian's bundle lacks).
	for k in GOPROXY GONOSUMDB GOSUMDB; do
		args+=(--build-arg "$k=$(go env "$k")")
	done
	[ -r "$CA" ] && args+=(-v "$CA:/etc/ssl/certs/ca-certificates.crt:ro")
	start=$SECONDS
	# Docker's image format: OCI has no HEALTHCHECK.
	buildah bud --isolation chroot --pull=never --layers --format docker \
		--build-arg GO_VERSION="$GO_VERSION" --build-arg VERSION="$v" "${args[@]}" \
		-t "$IMAGE:latest" -t "$IMAGE:$v" -f "$REPO/Dockerfile" "$REPO"
	say "built $IMAGE:$v in $((SECONDS - start)) s; size $(buildah images --format '{{.Size}}' "$IMAGE:latest")"
}

# smoke: the image's binaries run, and the server answers GET / in embedded
# mode. buildah run with chroot isolation shares the host's network, so the
# server listens on 127.0.0.1:$SMOKE_PORT.
smoke() {
	need buildah buildah
	have_image "$IMAGE:latest" || die "no image $IMAGE:latest: run build first"
	need curl curl
	local pid body
	CTR="$(buildah from --pull=never "$IMAGE:latest")"
	trap 'buildah rm "$CTR" >/dev/null' EXIT
	local c="$CTR"
	for bin in server worker; do
		say "$bin -version: $(buildah run --isolation chroot "$c" -- "$bin" -version)"
	done
	setsid buildah run --isolation chroot --env HOST=127.0.0.1 --env PORT="$SMOKE_PORT" --env LOG_FORMAT=json \
		"$c" -- server >"$REPO/.cache/image-smoke.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		body="$(curl -fsS --max-time 1 "http://127.0.0.1:$SMOKE_PORT/" 2>/dev/null)" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# SIGTERM to the server itself (buildah would kill it): it must drain and exit 0.
	local srv
	srv="$(pgrep -g "$pid" -x server || true)"
	kill -TERM "${srv:-$pid}" 2>/dev/null || true
	local rc=0
	wait "$pid" || rc=$?
	say "GET / -> ${body:-nothing}; after SIGTERM: exit $rc, $(grep -o '"msg":"drained"' "$REPO/.cache/image-smoke.log" || echo 'not drained')"
	if [ "$body" != '{"Hello":"World"}' ] || [ "$rc" != 0 ]; then
		cat "$REPO/.cache/image-smoke.log" >&2
		die "smoke test failed"
	fi
	say "smoke test passed"
}

mkdir -p "$REPO/.cache"
case "${1:-}" in
base) base ;;
build) build ;;
smoke) smoke ;;
all) build && smoke ;;
*) die "usage: image.sh base|build|smoke|all" ;;
esac
