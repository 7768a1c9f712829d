#!/bin/sh
# The Debian package, end to end on this machine: configure a build with
# the prefix /usr, make the .deb with cpack, check what it holds and what
# it depends on, install it with dpkg, run the installed satcheld and
# satchel, check that it made the satchel user and enabled nothing, then
# remove it (and the user, if this test made it). Needs root and dpkg;
# skipped (77) without them. A satchel package already installed is left
# alone: the test fails rather than replace it.
# Usage: test_package.sh SOURCE_DIR
set -eu
src=$1
if [ "$(id -u)" != 0 ] || ! command -v dpkg >/dev/null || ! command -v dpkg-shlibdeps >/dev/null
then
    echo "test_package: needs root, dpkg and dpkg-shlibdeps (dpkg-dev); skipped"
    exit 77
fi
if dpkg-query -W -f='${Status}' satchel 2>/dev/null | grep -q "ok installed"; then
    echo "test_package: a satchel package is installed already; not touching it" >&2
    exit 1
fi
work=$(mktemp -d /tmp/satchel-package-XXXXXX)
user_was_there=no
getent passwd satchel >/dev/null && user_was_there=yes
installed=no
cleanup() {
    if [ "$installed" = yes ]; then
        dpkg --purge satchel >/dev/null 2>&1 || true
    fi
    if [ "$user_was_there" = no ] && getent passwd satchel >/dev/null; then
        userdel satchel >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() { echo "test_package: $*" >&2; exit 1; }

cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DSATCHEL_TESTS=OFF > "$work/configure.log" || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/build" -j "$(nproc)" > "$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log"; fail "build"; }
(cd "$work/build" && cpack -G DEB > "$work/cpack.log" 2>&1) \
    || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/build/satchel_*.deb)
echo "== $deb"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$work/contents"
cat "$work/contents"
for path in /usr/bin/satcheld /usr/bin/satchel /lib/systemd/system/satcheld.service \
            /usr/share/man/man8/satcheld.8.gz /usr/share/man/man1/satchel.1.gz \
            /usr/share/doc/satchel/copyright /usr/share/doc/satchel/README.md; do
    grep -qx "$path" "$work/contents" || fail "the package lacks $path"
done
grep -qx /etc/satchel/satcheld.conf "$work/contents" || fail "no /etc/satchel/satcheld.conf"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/satchel/satcheld.conf \
    || fail "/etc/satchel/satcheld.conf is not a conffile"
depends=$(dpkg-deb -f "$deb" Depends)
echo "== Depends: $depends"
for lib in libzmq5 libczmq4 libmsgpackc2 libsqlite3-0 libexpat1 libc6; do
    case ", $depends," in
        *", $lib "*|*", $lib,"*) ;;
        *) fail "Depends lacks $lib: $depends" ;;
    esac
done

dpkg -i "$deb" > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
installed=yes
version=$(dpkg-deb -f "$deb" Version)
# The installed daemon reads the installed example: all comments, so it
# checks out (a bad file would stop it with exit 2).
/usr/bin/satcheld --config /etc/satchel/satcheld.conf --check-config \
    || fail "satcheld --config /etc/satchel/satcheld.conf fails"
/usr/bin/satcheld --version | tee "$work/satcheld.version"
/usr/bin/satchel --version | tee "$work/satchel.version"
grep -q "$version" "$work/satcheld.version" || fail "satcheld --version does not say $version"
grep -q "$version" "$work/satchel.version" || fail "satchel --version does not say $version"
getent passwd satchel > /dev/null || fail "installing made no satchel user"
shell=$(getent passwd satchel | cut -d: -f7)
[ "$shell" = /usr/sbin/nologin ] || fail "the satchel user has the shell $shell"
for wants in /etc/systemd/system/*.wants/satcheld.service; do
    [ -e "$wants" ] && fail "installing enabled the service: $wants"
done
if command -v man >/dev/null 2>&1; then
    man -w satcheld | grep -q satcheld.8 || fail "man -w satcheld finds nothing"
fi

dpkg --purge satchel > "$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log"; fail "dpkg --purge"; }
installed=no
[ ! -e /usr/bin/satcheld ] || fail "/usr/bin/satcheld is still there after dpkg --purge"
[ ! -e /usr/bin/satchel ] || fail "/usr/bin/satchel is still there after dpkg --purge"
echo "test_package: built, installed, ran and removed $(basename "$deb")"
