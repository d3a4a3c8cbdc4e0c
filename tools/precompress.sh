#!/usr/bin/env bash
# tools/precompress.sh DIR - write F.gz (gzip -9) and F.br (brotli, best
# quality) beside every text file F under DIR (html, css, js, svg, json, txt,
# xml), for gzip_static. Each variant gets F's modification time, so the
# server (which ignores a variant older than F) serves it until F changes;
# run this again after changing F. Up-to-date variants are left alone. A
# variant that is not smaller than F is removed: it would only cost bytes.
# Output is reproducible (gzip -n: no name or time stamp inside), so the
# variants can be committed. Installs gzip and brotli (Debian) if missing.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 1
fi
dir=$1
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
deps_install gzip brotli

# compress SRC DST CMD...: DST from SRC with CMD (reading SRC, writing
# stdout), dated like SRC; dropped when it saves nothing.
compress() {
    local src=$1 dst=$2 tmp
    shift 2
    if [ -f "$dst" ] && [ ! "$src" -nt "$dst" ] && [ ! "$dst" -nt "$src" ]; then
        return 0                        # same mtime: made from this SRC
    fi
    tmp="$dst.tmp.$$"
    "$@" <"$src" >"$tmp"
    if [ "$(stat -c %s "$tmp")" -ge "$(stat -c %s "$src")" ]; then
        rm -f "$tmp" "$dst"
        return 0
    fi
    touch -r "$src" "$tmp"
    mv -f "$tmp" "$dst"                 # atomic: never half a variant
    made=$((made + 1))
}

made=0
files=0
while IFS= read -r -d '' f; do
    files=$((files + 1))
    compress "$f" "$f.gz" gzip -9 -n -c
    compress "$f" "$f.br" brotli -q 11 -c
done < <(find "$dir" -type f \( -iname '*.html' -o -iname '*.css' \
            -o -iname '*.js' -o -iname '*.svg' -o -iname '*.json' \
            -o -iname '*.txt' -o -iname '*.xml' \) -print0 | sort -z)
echo "precompress: $files text file(s) under $dir, $made variant(s) written"
