#!/bin/sh
# buildrig test bed: entrypoint of the dind stand-in image (Debian's dockerd).
# It keeps the contract of the official docker:dind image so jobs written for it run unchanged:
#   - no arguments, or arguments starting with "-": they are appended to dockerd;
#   - DOCKER_TLS_CERTDIR non-empty: CA, server and client certificates are generated there
#     (ca/ server/ client/), dockerd listens on tcp://0.0.0.0:2376 with --tlsverify;
#   - DOCKER_TLS_CERTDIR empty: tcp://0.0.0.0:2375 with --tls=false;
#   - DOCKER_HOST=unix:///path: the daemon's socket goes there instead of /var/run/docker.sock.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- dockerd "$@"
fi

_tls_san() {
	# Clients reach the daemon by its service alias ("docker"), localhost, or an address.
	san="DNS:docker,DNS:localhost,DNS:$(hostname),IP:127.0.0.1"
	for ip in $(hostname -i 2>/dev/null || true); do
		case "$ip" in *:*) ;; *) san="$san,IP:$ip" ;; esac
	done
	if [ -n "${DOCKER_TLS_SAN:-}" ]; then san="$san,$DOCKER_TLS_SAN"; fi
	echo "$san"
}

_genkey() {
	# P-256 rather than the official image's RSA-4096: the same trust model, generated in
	# milliseconds instead of seconds on a busy CI machine.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

_tls_generate_certs() {
	dir="$1"
	if [ -s "$dir/server/ca.pem" ] && [ -s "$dir/server/cert.pem" ] && [ -s "$dir/server/key.pem" ] \
		&& [ -s "$dir/client/cert.pem" ] && [ -s "$dir/client/key.pem" ]; then
		return 0
	fi
	mkdir -p "$dir/ca" "$dir/server" "$dir/client"
	if [ ! -s "$dir/ca/key.pem" ]; then
		_genkey "$dir/ca/key.pem"
		openssl req -new -x509 -days 825 -key "$dir/ca/key.pem" -out "$dir/ca/cert.pem" \
			-subj '/CN=docker:dind CA'
	fi
	for role in server client; do
		if [ "$role" = server ]; then
			ext="extendedKeyUsage=serverAuth
subjectAltName=$(_tls_san)"
			cn=docker:dind-server
		else
			ext="extendedKeyUsage=clientAuth"
			cn=docker:dind-client
		fi
		_genkey "$dir/$role/key.pem"
		openssl req -new -key "$dir/$role/key.pem" -out "$dir/$role/csr.pem" -subj "/CN=$cn"
		printf '%s\n' "$ext" > "$dir/$role/openssl.cnf"
		openssl x509 -req -in "$dir/$role/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" \
			-CAcreateserial -out "$dir/$role/cert.pem" -days 825 -extfile "$dir/$role/openssl.cnf" 2>/dev/null
		cp "$dir/ca/cert.pem" "$dir/$role/ca.pem"
		openssl verify -CAfile "$dir/$role/ca.pem" "$dir/$role/cert.pem" >/dev/null
	done
	# The client directory is shared with the job container, which may run as another user.
	chmod -R a+rX "$dir/client" "$dir/server/ca.pem" 2>/dev/null || true
	chmod 0644 "$dir/client/key.pem"
}

_cgroups_rw() {
	# Without real --privileged (a runtime that refuses it and falls back to capabilities), the
	# cgroup v1 hierarchies are mounted read-only and the inner runc cannot create cgroups.
	[ -f /sys/fs/cgroup/cgroup.controllers ] && return 0
	if ! mkdir -p /sys/fs/cgroup/cpuset/.buildrig-probe 2>/dev/null; then
		mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
		for m in $(awk '$2 ~ "^/sys/fs/cgroup/" { print $2 }' /proc/mounts); do
			mount -o remount,bind,rw "$m" 2>/dev/null || true
		done
	fi
	rmdir /sys/fs/cgroup/cpuset/.buildrig-probe 2>/dev/null || true
}

if [ "$1" = dockerd ]; then
	shift
	socket=unix:///var/run/docker.sock
	case "${DOCKER_HOST:-}" in unix://*) socket="$DOCKER_HOST" ;; esac
	set -- --host="$socket" "$@"
	if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
		_tls_generate_certs "$DOCKER_TLS_CERTDIR"
		set -- --host=tcp://0.0.0.0:2376 --tlsverify \
			--tlscacert "$DOCKER_TLS_CERTDIR/server/ca.pem" \
			--tlscert "$DOCKER_TLS_CERTDIR/server/cert.pem" \
			--tlskey "$DOCKER_TLS_CERTDIR/server/key.pem" "$@"
	else
		# Explicit: dockerd 20.10 waits 15 s on purpose when plain TCP is not asked for explicitly.
		set -- --host=tcp://0.0.0.0:2375 --tls=false "$@"
	fi
	# The test bed's registry mirror (pull-through for docker.io names), unless the job sets one.
	case " $* " in *" --registry-mirror"*) ;; *)
		if [ -n "${BUILDRIG_REGISTRY_MIRROR:-}" ]; then set -- "$@" --registry-mirror="$BUILDRIG_REGISTRY_MIRROR"; fi ;;
	esac
	# Then what the official image's "dind" wrapper does, after the certificates as there; busybox's
	# mount gives the same message as the Alpine-based original when the container is unprivileged.
	if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
		busybox mount -t securityfs none /sys/kernel/security 2>/dev/null || {
			echo >&2 'Could not mount /sys/kernel/security.'
			echo >&2 'AppArmor detection and --privileged mode might break.'
		}
	fi
	if ! mountpoint -q /tmp; then
		busybox mount -t tmpfs none /tmp
	fi
	_cgroups_rw
	set -- dockerd "$@"
fi

exec "$@"
