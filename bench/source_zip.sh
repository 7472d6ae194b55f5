#!/usr/bin/env bash
# Bench: the source artifact of a git source action (sources::write_commit_zip:
# libgit2 reads the blobs on the calling thread, worker threads deflate them
# at level 6, zip_writer lays them out) against the floor that matters,
# `git archive --format=zip` of the same commit, on a copy of /usr/include
# committed into a fresh repository (about 270 MB in 24,000 files on Debian 12
# with the build dependencies). Each run times, one after the other: git
# archive, write_commit_zip with its defaults (one deflate thread per CPU),
# and write_commit_zip with no deflate thread (`--threads 0`, everything on
# one thread as git archive does), from a non-bare and from a bare
# (--no-local) clone. Wall time, CPU time (user + system) and peak RSS come
# from /usr/bin/time -v. The unzipped trees are compared once with diff -r.
# Target (issue #5): no slower than git archive, memory bounded whatever the
# repository size.
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
echo "git $(git --version | awk '{print $3}'), libgit2 $(pkg-config --modversion libgit2), zlib $(pkg-config --modversion zlib)"

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

# Runs "$@" under /usr/bin/time -v; prints "<wall s> <cpu s> <peak RSS MiB>".
measure() {
  /usr/bin/time -v "$@" >/dev/null 2>"$TMP/time" || { cat "$TMP/time"; exit 1; }
  awk '/Elapsed \(wall clock\)/ {n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]}
       /User time \(seconds\)/ {u = $NF} /System time \(seconds\)/ {y = $NF}
       /Maximum resident set size/ {r = $NF}
       END {printf "%.2f %.2f %.0f\n", s, u + y, r / 1024}' "$TMP/time"
}
add() { awk -v a="$1" -v b="$2" 'BEGIN {print a + b}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%-8s %-4s | %-24s | %-24s %-5s | %-24s %-5s\n' repo run "git archive: wall/CPU/RSS" \
  "ours: wall/CPU/RSS" ratio "ours --threads 0" ratio
for repo in repo bare.git; do
  sg=0 so=0 s1=0 cg=0 co=0 c1=0
  for run in $(seq 1 "$RUNS"); do
    rm -f "$TMP/git.zip" "$TMP/ours.zip" "$TMP/one.zip"
    read -r g_wall g_cpu g_rss < <(measure git -C "$TMP/$repo" archive --format=zip -o "$TMP/git.zip" main)
    read -r o_wall o_cpu o_rss < <(measure "$GIT_ZIP" "$TMP/$repo" main "$TMP/ours.zip")
    read -r l_wall l_cpu l_rss < <(measure "$GIT_ZIP" --threads 0 "$TMP/$repo" main "$TMP/one.zip")
    printf '%-8s %-4s | %-24s | %-24s %-5s | %-24s %-5s\n' "$repo" "$run" \
      "${g_wall}s ${g_cpu}s ${g_rss}MiB" "${o_wall}s ${o_cpu}s ${o_rss}MiB" "$(div "$o_wall" "$g_wall")" \
      "${l_wall}s ${l_cpu}s ${l_rss}MiB" "$(div "$l_wall" "$g_wall")"
    sg=$(add "$sg" "$g_wall") so=$(add "$so" "$o_wall") s1=$(add "$s1" "$l_wall")
    cg=$(add "$cg" "$g_cpu") co=$(add "$co" "$o_cpu") c1=$(add "$c1" "$l_cpu")
  done
  printf '%-8s mean | %-24s | %-24s %-5s | %-24s %-5s\n' "$repo" \
    "$(div "$sg" "$RUNS")s $(div "$cg" "$RUNS")s" "$(div "$so" "$RUNS")s $(div "$co" "$RUNS")s" \
    "$(div "$so" "$sg")" "$(div "$s1" "$RUNS")s $(div "$c1" "$RUNS")s" "$(div "$s1" "$sg")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "zip sizes: git archive $(stat -c %s "$TMP/git.zip") bytes, write_commit_zip $(stat -c %s "$TMP/ours.zip") bytes"

cmp -s "$TMP/ours.zip" "$TMP/one.zip" || { echo "the zips with and without deflate threads DIFFER"; exit 1; }
mkdir "$TMP/a" "$TMP/b"
unzip -q "$TMP/git.zip" -d "$TMP/a" && unzip -q "$TMP/ours.zip" -d "$TMP/b"
if diff -r --no-dereference "$TMP/a" "$TMP/b" >/dev/null; then echo "unzipped trees: identical (diff -r)"; else
  echo "unzipped trees: DIFFER"; exit 1; fi
