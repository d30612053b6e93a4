#!/bin/sh
# buildrig test bed: entrypoint of the docker CLI stand-in image. It keeps the contract of the
# official docker:cli image: with no DOCKER_HOST and no local socket it targets the "docker"
# service (2376 when the dind client certificates are in $DOCKER_TLS_CERTDIR/client, else 2375),
# and with those certificates present it turns on TLS verification.
set -eu

if [ "$#" -gt 0 ] && [ "${1#-}" != "$1" ]; then
	set -- docker "$@"
fi

_should_tls() {
	[ -n "${DOCKER_TLS_CERTDIR:-}" ] \
		&& [ -s "$DOCKER_TLS_CERTDIR/client/ca.pem" ] \
		&& [ -s "$DOCKER_TLS_CERTDIR/client/cert.pem" ] \
		&& [ -s "$DOCKER_TLS_CERTDIR/client/key.pem" ]
}

if [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
	if _should_tls; then
		export DOCKER_HOST=tcp://docker:2376
	else
		export DOCKER_HOST=tcp://docker:2375
	fi
fi
if [ -n "${DOCKER_HOST:-}" ] && _should_tls; then
	export DOCKER_TLS_VERIFY=1
	export DOCKER_CERT_PATH="$DOCKER_TLS_CERTDIR/client"
fi

exec "$@"
