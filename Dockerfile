# A drop-in for the official python:X.Y-slim images (Debian slim), with
# gc.freeze() built in:
#
#   docker build --build-arg PYTHON_VERSION=2.7 -t python-gcfreeze:2.7 .
#
# Build arguments:
#   PYTHON_VERSION         a series of versions.txt (./build.sh --list); 3.6
#   BASE_IMAGE             debian:bookworm-slim (the default),
#                          debian:trixie-slim or debian:bullseye-slim
#   GCFREEZE_BUILD_FLAGS   options for ./build.sh; the default, --optimize, is
#                          the PGO+LTO release build the official images ship
#                          (15+ minutes a version on 2 cores);
#                          --build-arg GCFREEZE_BUILD_FLAGS=--no-optimize is
#                          the quick build (ci/test-image.sh uses it)
#
# The interpreter is built by ./build.sh (which installs its own build
# dependencies) into /usr/local; the final stage has the runtime libraries
# only, found with ldd on the built binaries.  The Python source comes from
# sources/ in the build context when there (Python-X.Y.Z.tgz or an extracted
# Python-X.Y.Z/ tree; ci/test-image.sh fills it), otherwise build.sh
# downloads and checks it.
ARG BASE_IMAGE=debian:bookworm-slim
ARG PYTHON_VERSION=3.6

FROM ${BASE_IMAGE} AS build
ARG PYTHON_VERSION
ARG GCFREEZE_BUILD_FLAGS=--optimize
COPY . /src
WORKDIR /src
# (unquoted: GCFREEZE_BUILD_FLAGS may hold several options, or none)
# hadolint ignore=SC2086
RUN ./build.sh --prefix /usr/local --cache /src/sources ${GCFREEZE_BUILD_FLAGS} "${PYTHON_VERSION}"

# As in the official slim images: no byte code, no test suites, no static
# library, no debug symbols.  Then the Debian packages of every shared
# library the binaries load, for the final stage; _tkinter is left out of
# that scan (no Tk or X11 libraries: tkinter does not import, as there).
# (dpkg-query --search also names the diversions of Debian 13's t64 renames,
# and a file two packages ship as "a:amd64, b:amd64: /path": both are kept.)
RUN set -eu; \
    find /usr/local -depth \
      \( \
        \( -type d \( -name test -o -name tests -o -name idle_test -o -name __pycache__ \) \) \
        -o \( -type f \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \
      \) -exec rm -rf '{}' +; \
    find /usr/local -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) \
      -exec sh -c 'for f; do case $(od -An -tx1 -N4 "$f" | tr -d " ") in 7f454c46) strip --strip-unneeded "$f";; esac; done' _ '{}' +; \
    find /usr/local -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) ! -name '*tkinter*' \
      -exec ldd '{}' + >/tmp/ldd.txt 2>/dev/null || true; \
    if grep 'not found' /tmp/ldd.txt; then echo 'libraries not found (above)' >&2; exit 1; fi; \
    awk '$2 == "=>" && $3 ~ /^\// && $3 !~ /^\/usr\/local\// { sub(/^\/usr/, "", $3); print "*" $3 }' /tmp/ldd.txt \
      | sort -u | xargs -r dpkg-query --search | grep -v '^diversion by ' \
      | sed -e 's/: \/.*//' -e 's/, /\n/g' | cut -d: -f1 | sort -u >/runtime-packages; \
    rm /tmp/ldd.txt; \
    echo "runtime packages: $(tr '\n' ' ' </runtime-packages)"

FROM ${BASE_IMAGE} AS runtime
ARG PYTHON_VERSION
ENV PATH=/usr/local/bin:$PATH \
    LANG=C.UTF-8

COPY --from=build /runtime-packages /tmp/runtime-packages
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates netbase tzdata $(cat /tmp/runtime-packages); \
    rm -rf /var/lib/apt/lists/* /tmp/runtime-packages

COPY --from=build /usr/local /usr/local

# The names the official images have: python, pip, pydoc, idle, python-config
# next to python3, pip3, ... (make install makes them for 2.7 already).  The
# checks write no byte code into the image.
RUN set -eu; \
    ldconfig; \
    major=${PYTHON_VERSION%%.*}; \
    cd /usr/local/bin; \
    for src in "python$major" "python$major-config" "pip$major" "pydoc$major" "idle$major"; do \
      dst=$(echo "$src" | sed "s/$major//"); \
      if [ -e "$src" ] && [ ! -e "$dst" ]; then ln -s "$src" "$dst"; fi; \
    done; \
    export PYTHONDONTWRITEBYTECODE=1; \
    python --version; pip --version; \
    python -c 'import gc; gc.freeze(); gc.unfreeze()'

# The official images' CMD: python3 on 3.x, python on 2.x.  CMD cannot use
# an ARG, so the last stage is picked by name: one stage per series of
# ./build.sh --list (ci/test-build-sh.sh checks that each is here).
FROM runtime AS python-2.7
CMD ["python"]
FROM runtime AS python-3.4
CMD ["python3"]
FROM runtime AS python-3.5
CMD ["python3"]
FROM runtime AS python-3.6
CMD ["python3"]

FROM python-${PYTHON_VERSION}
