#!/usr/bin/env bash
# Bench: the source artifact of a git source action (sources::write_commit_zip,
# libgit2 + libzip, lazy blob sources, deflate 6) against the floor that
# matters, `git archive --format=zip` of the same commit, on a copy of
# /usr/include committed into a fresh repository (about 270 MB in 24,000
# files on Debian 12 with the build dependencies). Both run RUNS times,
# alternating, from a non-bare and from a bare (--no-local) clone; wall time
# and peak RSS come from /usr/bin/time -v. The unzipped trees are compared
# once with diff -r. Target (issue #5): no slower than git archive, memory
# bounded whatever the repository size.
#
# usage: bench/source_zip.sh path/to/git_zip [RUNS]
#   git_zip is built by the stageline_sources module (build/src/sources/git_zip).
set -euo pipefail
GIT_ZIP=$(realpath "$1")
RUNS=${2:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "git $(git --version | awk '{print $3}'), libgit2 $(pkg-config --modversion libgit2), libzip $(pkg-config --modversion libzip)"

# The repository: /usr/include with its symlinks, plus an executable script.
cp -a /usr/include "$TMP/repo"
(
  cd "$TMP/repo"
  git init -q -b main .
  git add -A && git commit -q -m "usr/include"
  printf '#!/bin/sh\necho hi\n' >run.sh && chmod 755 run.sh
  git add run.sh && git commit -q -m "an executable"
)
git clone -q --bare --no-local "$TMP/repo" "$TMP/bare.git"
files=$(git -C "$TMP/repo" ls-files | wc -l)
bytes=$(git -C "$TMP/repo" ls-files -z | (cd "$TMP/repo" && xargs -0 du -cb --apparent-size 2>/dev/null) | awk '/total$/ {s += $1} END {print s}')
echo "repository: $files files, $((bytes / 1000000)) MB, pack $(du -sh "$TMP/bare.git/objects/pack" | cut -f1)"

# Runs "$@" under /usr/bin/time -v; prints "<wall seconds> <peak RSS MiB>".
measure() {
  /usr/bin/time -v "$@" >/dev/null 2>"$TMP/time" || { cat "$TMP/time"; exit 1; }
  awk '/Elapsed \(wall clock\)/ {n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]}
       /Maximum resident set size/ {r = $NF}
       END {printf "%.2f %.0f\n", s, r / 1024}' "$TMP/time"
}

printf '\n%-8s %-4s %-28s %-28s %s\n' repo run "git archive: wall s, RSS MiB" "write_commit_zip: wall s, RSS MiB" ratio
for repo in repo bare.git; do
  sum_git=0 sum_ours=0
  for run in $(seq 1 "$RUNS"); do
    rm -f "$TMP/git.zip" "$TMP/ours.zip"
    read -r g_wall g_rss < <(measure git -C "$TMP/$repo" archive --format=zip -o "$TMP/git.zip" main)
    read -r o_wall o_rss < <(measure "$GIT_ZIP" "$TMP/$repo" main "$TMP/ours.zip")
    ratio=$(awk -v o="$o_wall" -v g="$g_wall" 'BEGIN {printf "%.2f", o / g}')
    printf '%-8s %-4s %-28s %-28s %s\n' "$repo" "$run" "$g_wall s, $g_rss MiB" "$o_wall s, $o_rss MiB" "$ratio"
    sum_git=$(awk -v a="$sum_git" -v b="$g_wall" 'BEGIN {print a + b}')
    sum_ours=$(awk -v a="$sum_ours" -v b="$o_wall" 'BEGIN {print a + b}')
  done
  printf '%-8s mean %-28s %-28s %s\n' "$repo" "$(awk -v s="$sum_git" -v n="$RUNS" 'BEGIN {printf "%.2f s", s / n}')" \
    "$(awk -v s="$sum_ours" -v n="$RUNS" 'BEGIN {printf "%.2f s", s / n}')" \
    "$(awk -v o="$sum_ours" -v g="$sum_git" 'BEGIN {printf "%.2f", o / g}')"
done
echo "zip sizes: git archive $(stat -c %s "$TMP/git.zip") bytes, write_commit_zip $(stat -c %s "$TMP/ours.zip") bytes"

mkdir "$TMP/a" "$TMP/b"
unzip -q "$TMP/git.zip" -d "$TMP/a" && unzip -q "$TMP/ours.zip" -d "$TMP/b"
if diff -r --no-dereference "$TMP/a" "$TMP/b" >/dev/null; then echo "unzipped trees: identical (diff -r)"; else
  echo "unzipped trees: DIFFER"; exit 1; fi
