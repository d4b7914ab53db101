#!/bin/sh
# make deb: a Debian package of what `make install PREFIX=/usr` puts in place, built with
# dpkg-deb into .build/deb/. Depends on the runtime packages of the libraries the binary links
# (libmnl0, libnftnl11, libc6: found from the binary itself, never the -dev ones); the example
# config is a conffile (an upgrade keeps the user's, `dpkg --purge` removes it).
# Usage: tools/deb.sh BINARY
set -eu
binary=$1
version=$("$binary" --version | sed 's/ .*//')
arch=$(dpkg --print-architecture)
out=.build/deb
root=$out/root
rm -rf "$root"
mkdir -p "$root/DEBIAN"
make --no-print-directory install PREFIX=/usr DESTDIR="$PWD/$root" INSTALL_BIN="$binary" >/dev/null

# The package of each shared library the binary needs, at least at the version installed here.
depends=""
for library in $(objdump -p "$binary" | awk '/NEEDED/ { print $2 }'); do
    path=$(ldconfig -p | awk -v lib="$library" '$1 == lib { print $NF; exit }')
    [ -n "$path" ] || { echo "deb: $binary needs $library, which no system package provides (package the release build, which links the Swift runtime in: make release)" >&2; exit 1; }
    package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) || package=""
    [ -n "$package" ] || package=$(dpkg -S "$path" | head -1 | cut -d: -f1)
    installed=$(dpkg-query -W -f='${Version}' "$package")
    case " $depends " in *" $package "*) ;; *) depends="$depends $package (>= ${installed%%-*}),";; esac
done
depends=$(echo "$depends" | sed 's/^ //; s/,$//')

cat > "$root/DEBIAN/control" <<CONTROL
Package: uplinkctl
Version: $version
Architecture: $arch
Maintainer: uplinkctl developers <uplinkctl@localhost>
Depends: $depends
Recommends: nftables, iproute2
Section: net
Priority: optional
Homepage: https://github.com/uplinkctl/uplinkctl
Description: use several uplinks at once: policy routing and per-connection balancing
 uplinkctl reads a declarative list of uplinks (interfaces, gateways, weights) and installs
 the policy routing, connection-level balancing, masquerading and failover that people
 otherwise type by hand, atomically over netlink and nftables; it shows the equivalent
 iptables or nft commands as a dry-run, diffs the config against the kernel, and with
 `uplinkctl run` (uplinkctl.service) keeps the balancing on the uplinks that work.
CONTROL
printf '%s\n' /etc/uplinkctl/uplinks.yaml > "$root/DEBIAN/conffiles"
# systemd learns about the unit; nothing is enabled or started by installing the package.
for script in postinst postrm; do
    printf '#!/bin/sh\nset -e\nif [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi\n' > "$root/DEBIAN/$script"
    chmod 0755 "$root/DEBIAN/$script"
done
printf '#!/bin/sh\nset -e\nif [ "$1" = remove ] && [ -d /run/systemd/system ]; then systemctl stop uplinkctl.service || true; fi\n' \
    > "$root/DEBIAN/prerm"
chmod 0755 "$root/DEBIAN/prerm"
package="$out/uplinkctl_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$package" >/dev/null
echo "$package"
