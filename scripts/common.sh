# Shared by scripts/demo, scripts/test and bench/run: install what is
# missing, then build. Sourced, not run.

SATCHEL_ROOT=$(cd "$(dirname "$0")/.." && pwd)

# Debian packages the build and the tests need.
SATCHEL_PACKAGES="gcc libc6-dev make cmake pkg-config git dpkg-dev file groff-base man-db libsystemd-dev systemd libzmq3-dev libczmq-dev libmsgpack-dev libsqlite3-dev libcmocka-dev libexpat1-dev valgrind chromium"

satchel_install_deps() {
    missing=""
    for pkg in $SATCHEL_PACKAGES "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $pkg"
        fi
    done
    if [ -n "$missing" ]; then
        echo "satchel: installing Debian packages:$missing"
        if [ "$(id -u)" -ne 0 ]; then
            echo "satchel: these packages are missing and installing them needs root:$missing" >&2
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing
    fi
}

# satchel_build DIR [CMAKE ARGS...]: configure and build into DIR.
satchel_build() {
    dir=$1
    shift
    cmake -S "$SATCHEL_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$(nproc)"
}
