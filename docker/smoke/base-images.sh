#!/usr/bin/env bash
# Local base images from Debian's packages, for hosts that cannot pull from a registry:
#   health-training-base:bookworm   python (CPython 3.11) + venv, tini, CA certificates
#   health-training-pgbase:bookworm the same plus PostgreSQL 15 (docker/smoke/Dockerfile.postgres)
# debootstrap a minimal bookworm root file system, `docker import` it, add Postgres in a chroot,
# import again. Needs root, debootstrap and a reachable Debian mirror (MIRROR). Skips an image
# that already exists. Usage: docker/smoke/base-images.sh [WORKDIR]
set -euo pipefail
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=${1:-/var/tmp/health-training-rootfs}
have() { docker image inspect "$1" >/dev/null 2>&1; }

if have health-training-base:bookworm && have health-training-pgbase:bookworm; then
  echo "base images exist"; exit 0
fi
rm -rf "$WORK" && mkdir -p "$WORK"
ROOTFS="$WORK/rootfs"
# python-is-python3: the Dockerfile runs `python`; tini: its ENTRYPOINT (no apt in the build).
debootstrap --variant=minbase \
  --include=python3,python3-venv,python-is-python3,tini,ca-certificates \
  bookworm "$ROOTFS" "$MIRROR"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' - health-training-base:bookworm

# Postgres on top, in a chroot: no service started, no default cluster (the entrypoint makes one).
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$ROOTFS/usr/sbin/policy-rc.d" && chmod +x "$ROOTFS/usr/sbin/policy-rc.d"
mkdir -p "$ROOTFS/etc/postgresql-common/createcluster.d"
echo "create_main_cluster = false" > "$ROOTFS/etc/postgresql-common/createcluster.d/no-main.conf"
chroot "$ROOTFS" apt-get update -qq
chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS/usr/sbin/policy-rc.d"
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' - health-training-pgbase:bookworm
rm -rf "$WORK"
docker image ls 'health-training-*base'
