#!/usr/bin/env bash
# Writes to stdout the root filesystem tar of wharf's default `busybox` image, built from
# Debian's static busybox (package busybox-static): /bin/busybox, its applet links where
# `busybox --list-full` puts them, and a minimal /etc (root, nobody, app users), /tmp, /root,
# /home/app. The tar is reproducible (sorted names, fixed mtimes, numeric owners), so the same
# busybox build gives the same layer digest on every machine.
#
#   scripts/make-busybox-rootfs.sh | wharf import - busybox:latest --change 'CMD ["sh"]'
#
# Environment: BUSYBOX (default /bin/busybox), SOURCE_DATE_EPOCH (default 946684800,
# 2000-01-01T00:00:00Z) for the file times. Must run as root: it sets file owners.
set -euo pipefail
export LC_ALL=C

BUSYBOX=${BUSYBOX:-/bin/busybox}
MTIME=${SOURCE_DATE_EPOCH:-946684800}

die() { echo "make-busybox-rootfs: $*" >&2; exit 1; }

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is dynamically linked; use the one from busybox-static"; fi
[ "$(id -u)" = 0 ] || die "must run as root (it sets file owners)"
[ -t 1 ] && die "refusing to write a tar to a terminal; redirect stdout"
case "$MTIME" in ''|*[!0-9]*) die "SOURCE_DATE_EPOCH must be a number of seconds" ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
umask 022

install -d -m 0755 "$root"/{bin,sbin,usr,usr/bin,usr/sbin,etc,dev,proc,sys,var,home}
install -d -m 0700 "$root/root"
install -d -m 1777 "$root/tmp"
install -d -m 0755 -o 1000 -g 1000 "$root/home/app"
install -m 0755 "$BUSYBOX" "$root/bin/busybox"

"$BUSYBOX" --list-full | sort -u | while read -r applet; do
  case "$applet" in
    bin/busybox) ;;
    bin/*|sbin/*|usr/bin/*|usr/sbin/*) ln -s /bin/busybox "$root/$applet" ;;
    *) ;; # e.g. linuxrc: not wanted in a container image
  esac
done

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
app:x:1000:
GROUP
chmod 0644 "$root/etc/passwd" "$root/etc/group"

# ustar: no atime/ctime; --sort=name orders directory contents, the top level is listed sorted.
cd "$root"
# shellcheck disable=SC2046 # word splitting of the sorted top-level names is intended
tar --format=ustar --sort=name --numeric-owner --mtime="@$MTIME" -cf - $(ls -A | sort)
