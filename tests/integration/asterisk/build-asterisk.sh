#!/usr/bin/env bash
# Build Asterisk 22 (with bundled pjproject) from local git repositories (bare or not) and
# install it under a private prefix. No network access is needed except for
# Debian apt (build dependencies).
#
# The integration tier (tests/integration/, README "Integration tier") runs against the result:
#   .venv/bin/python -m pytest tests/integration --asterisk=$PREFIX
#
# Usage:
#   build-asterisk.sh <asterisk-git-dir> <pjproject-git-dir> [PREFIX]
#   (git dirs: a bare repository, or a checkout's .git; they need Asterisk's 22.x tags and the
#   pjproject tag third-party/versions.mak names)
#
# Environment overrides:
#   PREFIX     install prefix                (default /opt/asterisk22; the third argument wins)
#   BUILD_ROOT work dir for sources/caches   (default ${XDG_CACHE_HOME:-~/.cache}/ccharness/asterisk-build)
#   AST_REF    Asterisk tag/branch to build  (default: newest 22.x release tag,
#              else branch 22, else master)
#   JOBS       make -j value                 (default 2)
#   SKIP_APT=1 do not run apt-get
#
# Idempotent: every step is skipped or is a no-op when already done.
# Every compile step runs under `nice -n 19 ionice -c3`.
set -euo pipefail

USAGE="usage: $0 <asterisk-git-dir> <pjproject-git-dir> [PREFIX]"
AST_GIT=${1:?$USAGE}
PJ_GIT=${2:?$USAGE}
PREFIX=${3:-${PREFIX:-/opt/asterisk22}}
BUILD_ROOT=${BUILD_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/ccharness/asterisk-build}
JOBS=${JOBS:-2}
CACHE=$BUILD_ROOT/cache
NICE=(nice -n 19 ionice -c3)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*"; }

mkdir -p "$BUILD_ROOT" "$CACHE"

# ---------------------------------------------------------------- 1. deps
if [[ ${SKIP_APT:-0} != 1 ]]; then
    pkgs=(build-essential libedit-dev libjansson-dev libxml2-dev libxslt1-dev
          uuid-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev pkg-config
          bzip2 patch wget curl xmlstarlet libsrtp2-dev libspeex-dev
          libspeexdsp-dev libopus-dev)
    missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "apt-get install ${missing[*]}"
        if [[ $(id -u) != 0 ]]; then
            echo "missing build packages; run: sudo apt-get install -y ${missing[*]} (or SKIP_APT=1)" >&2
            exit 1
        fi
        timeout 600 apt-get update -q
        DEBIAN_FRONTEND=noninteractive timeout 1800 apt-get install -y -q "${missing[@]}"
    fi
fi

# ---------------------------------------------------------------- 2. pick ref
if [[ -z ${AST_REF:-} ]]; then
    AST_REF=$(git --git-dir="$AST_GIT" tag -l '22.*' | grep -E '^22\.[0-9]+\.[0-9]+$' | sort -V | tail -n1 || true)
    if [[ -z $AST_REF ]]; then
        if git --git-dir="$AST_GIT" rev-parse -q --verify refs/heads/22 >/dev/null; then AST_REF=22; else AST_REF=master; fi
    fi
fi
AST_COMMIT=$(git --git-dir="$AST_GIT" rev-parse "$AST_REF^{commit}")
log "Asterisk ref: $AST_REF ($AST_COMMIT)"

SRC=$BUILD_ROOT/asterisk-$AST_REF

# ---------------------------------------------------------------- 3. extract
if [[ ! -f $SRC/.extracted ]] || [[ $(cat "$SRC/.extracted") != "$AST_COMMIT" ]]; then
    log "extracting Asterisk $AST_REF to $SRC"
    rm -rf "$SRC"; mkdir -p "$SRC"
    git --git-dir="$AST_GIT" archive "$AST_COMMIT" | tar -x -C "$SRC"
    # a tag carries .version; a branch/master does not -> give make_version something sane
    [[ -f $SRC/.version ]] || echo "$AST_REF-$(git --git-dir="$AST_GIT" rev-parse --short "$AST_COMMIT")" > "$SRC/.version"
    echo "$AST_COMMIT" > "$SRC/.extracted"
fi

# ---------------------------------------------------------------- 4. pjproject tarball
# shellcheck disable=SC1091
PJ_VER=$(. "$SRC/third-party/versions.mak"; echo "$PJPROJECT_VERSION")
PJ_TAR=$CACHE/pjproject-$PJ_VER.tar.bz2
if [[ ! -s $PJ_TAR ]]; then
    log "creating $PJ_TAR from pjproject mirror tag $PJ_VER"
    git --git-dir="$PJ_GIT" rev-parse -q --verify "refs/tags/$PJ_VER" >/dev/null \
        || { echo "pjproject mirror has no tag $PJ_VER" >&2; exit 1; }
    git --git-dir="$PJ_GIT" archive --prefix="pjproject-$PJ_VER/" "$PJ_VER" | bzip2 -9 > "$PJ_TAR.tmp"
    mv "$PJ_TAR.tmp" "$PJ_TAR"
fi
# With git 2.39 + bzip2 1.0.8 (Debian 12) the git-archive tarball of tag 2.17 is
# byte-identical to the one Asterisk downloads: its md5 equals the checked-in
# third-party/pjproject/pjproject-2.17.tar.bz2.md5, so normally nothing changes.
# Fallback only if it ever differs (other git/bzip2/pjproject version): point
# the checksum file of this *build copy* at our tarball (original kept as .orig).
MD5_FILE=$SRC/third-party/pjproject/pjproject-$PJ_VER.tar.bz2.md5
want="$(md5sum < "$PJ_TAR" | cut -d' ' -f1)  pjproject-$PJ_VER.tar.bz2"
if [[ "$(cat "$MD5_FILE" 2>/dev/null)" != "$want" ]]; then
    [[ -f $MD5_FILE.orig ]] || cp "$MD5_FILE" "$MD5_FILE.orig" 2>/dev/null || true
    log "rewriting $MD5_FILE (upstream: $(cat "$MD5_FILE.orig" 2>/dev/null))"
    echo "$want" > "$MD5_FILE"
fi

cd "$SRC"

# ---------------------------------------------------------------- 5. configure
CONF_OPTS=(--prefix="$PREFIX" --with-pjproject-bundled --with-externals-cache="$CACHE"
           --with-jansson --without-libjwt-bundled)
if [[ ! -f config.status ]] || [[ "$(cat .configure-opts 2>/dev/null)" != "${CONF_OPTS[*]}" ]]; then
    log "configure ${CONF_OPTS[*]}"
    "${NICE[@]}" ./configure "${CONF_OPTS[@]}" > "$BUILD_ROOT/configure.log" 2>&1 \
        || { tail -40 "$BUILD_ROOT/configure.log"; exit 1; }
    echo "${CONF_OPTS[*]}" > .configure-opts
    rm -f menuselect.makeopts .menuselect-done
fi

# ---------------------------------------------------------------- 6. menuselect
if [[ ! -f .menuselect-done ]]; then
    log "menuselect"
    "${NICE[@]}" make -j"$JOBS" menuselect.makeopts > "$BUILD_ROOT/menuselect.log" 2>&1
    menuselect/menuselect \
        --disable-category MENUSELECT_CORE_SOUNDS \
        --disable-category MENUSELECT_MOH \
        --disable-category MENUSELECT_EXTRA_SOUNDS \
        --disable BUILD_NATIVE \
        --enable chan_pjsip --enable app_queue --enable app_mixmonitor \
        --enable res_ari --enable res_stasis --enable res_http_websocket \
        --enable app_playback --enable app_read --enable pbx_config \
        --enable res_musiconhold --enable format_wav --enable codec_ulaw \
        --enable codec_alaw \
        menuselect.makeopts
    touch .menuselect-done
fi

# ---------------------------------------------------------------- 7. build + install
log "make -j$JOBS (log: $BUILD_ROOT/make.log)"
"${NICE[@]}" make -j"$JOBS" > "$BUILD_ROOT/make.log" 2>&1 || { tail -60 "$BUILD_ROOT/make.log"; exit 1; }
log "make install"
"${NICE[@]}" make install > "$BUILD_ROOT/install.log" 2>&1 || { tail -60 "$BUILD_ROOT/install.log"; exit 1; }

# ---------------------------------------------------------------- 8. verify modules
moddir=$PREFIX/lib/asterisk/modules
need=(chan_pjsip res_pjsip res_pjsip_session res_pjsip_authenticator_digest
      res_pjsip_endpoint_identifier_ip res_pjsip_registrar app_queue
      app_mixmonitor res_ari res_ari_channels res_ari_bridges res_ari_applications
      res_ari_events res_ari_asterisk res_ari_playbacks res_ari_recordings
      res_stasis res_stasis_playback res_stasis_recording res_stasis_answer
      res_http_websocket app_playback app_read pbx_config res_musiconhold
      format_wav format_pcm codec_ulaw codec_alaw func_callerid func_channel
      func_strings func_logic)
miss=()
for m in "${need[@]}"; do [[ -f $moddir/$m.so ]] || miss+=("$m"); done
if ((${#miss[@]})); then echo "MISSING modules: ${miss[*]}" >&2; exit 1; fi
log "all required modules present in $moddir"
"$PREFIX/sbin/asterisk" -V
