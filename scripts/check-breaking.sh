#!/usr/bin/env bash
# The breaking-change gate of the contracts (make check-breaking; CI).
#
#   scripts/check-breaking.sh                    openapi.yaml and asyncapi.yaml against their base
#   scripts/check-breaking.sh openapi BASE REV   two OpenAPI files (oasdiff breaking --fail-on ERR)
#   scripts/check-breaking.sh asyncapi BASE REV  two AsyncAPI files (scripts/asyncapi-breaking.mjs)
#
# A breaking change fails unless REV's info.version has a higher major than BASE's, or (openapi.yaml
# against its base only) it is one of the accepted exceptions listed and justified in
# scripts/breaking-exceptions.md; what broke is printed either way.
# Exit 0: compatible or allowed; 1: breaking; 2: a comparison could not run.
#
# The base of the contracts, first that applies:
#   1. BREAKING_BASE=<git ref> if set.
#   2. The merge base of HEAD with the default branch (origin/HEAD, else a local main or master)
#      when HEAD is not on it: a branch or a pull request is compared with where it forked.
#   3. On the default branch itself (CI on a clean clone of main after a push), the last release
#      tag v* reachable from HEAD: what clients may run against must keep working.
#   4. With no release tag, for each file, its version before the last commit that changed it:
#      the latest change of the contract must be compatible, even when later commits of the
#      same push did not touch it (comparing with HEAD~1 alone would miss it).
# Uncommitted edits of the working tree are included. A contract with no earlier version
# (new, or a shallow clone without the commit before) has nothing to break and passes, saying so;
# CI needs the full history and tags (a plain git clone has them).
set -euo pipefail
here=$PWD
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# The info.version of an OpenAPI or AsyncAPI YAML document (block style, as ours are written).
version() {
  awk '/^info:/ { i = 1; next }
       i && /^[^ #]/ { exit }
       i && /^  version:/ { v = $0; sub(/^  version:[ ]*/, "", v); sub(/[ ]+#.*$/, "", v); gsub(/["\047]/, "", v); print v; exit }' "$1"
}

major() {
  local v=${1#v}
  v=${v%%.*}
  [[ $v =~ ^[0-9]+$ ]] && echo "$v"
}

# The accepted breaking changes of the repository's openapi.yaml (see the file), with its \u{XXXX}
# escapes expanded, for oasdiff --err-ignore. Set by the default mode only: two files given on the
# command line (the fixtures) are judged without exceptions.
exceptions=""

# compare KIND BASE REV [LABEL]
compare() {
  local kind=$1 base=$2 rev=$3 label=${4:-$3 against $2} rc=0
  echo "-- $kind: $label"
  case $kind in
  openapi) go tool -modfile="$root/tools/go.mod" oasdiff breaking --fail-on ERR --color never ${exceptions:+--err-ignore "$exceptions"} "$base" "$rev" || rc=$? ;;
  asyncapi) node "$root/scripts/asyncapi-breaking.mjs" "$base" "$rev" || rc=$? ;;
  *) echo "unknown contract kind $kind (openapi or asyncapi)" >&2; return 2 ;;
  esac
  case $rc in
  0) echo "$kind: no breaking change"; return 0 ;;
  1) ;;
  *) echo "$kind: the comparison could not run (exit $rc)" >&2; return 2 ;;
  esac
  local bv rv bm rm
  bv=$(version "$base") rv=$(version "$rev")
  bm=$(major "$bv" || true) rm=$(major "$rv" || true)
  if [[ -n $bm && -n $rm ]] && (( rm > bm )); then
    echo "$kind: the breaking changes above are allowed: info.version's major was raised ($bv -> $rv)"
    return 0
  fi
  echo "$kind: BREAKING changes (above) with info.version ${bv:-?} -> ${rv:-?}: make the change compatible, or raise the major version if clients must change" >&2
  return 1
}

if [[ $# -gt 0 ]]; then
  [[ $# -eq 3 ]] || { echo "usage: $0 [openapi|asyncapi BASE REV]" >&2; exit 2; }
  abs() { if [[ $1 == /* ]]; then echo "$1"; else echo "$here/$1"; fi; }
  rc=0
  compare "$1" "$(abs "$2")" "$(abs "$3")" "$3 against $2" || rc=$?
  exit $rc
fi

ref="" why=""
if [[ -n ${BREAKING_BASE:-} ]]; then
  ref=$BREAKING_BASE why="BREAKING_BASE"
else
  default=$(git symbolic-ref -q --short refs/remotes/origin/HEAD 2>/dev/null || true)
  if [[ -z $default ]]; then
    for b in main master; do
      if git rev-parse -q --verify "refs/heads/$b" >/dev/null; then default=$b; break; fi
    done
  fi
  head=$(git rev-parse HEAD)
  mb=""
  [[ -n $default ]] && mb=$(git merge-base HEAD "$default" 2>/dev/null || true)
  if [[ -n $mb && $mb != "$head" ]]; then
    ref=$mb why="merge base with $default"
  elif tag=$(git describe --tags --abbrev=0 --match 'v*' HEAD 2>/dev/null); then
    ref=$tag why="last release tag"
  fi
fi
if [[ -n $ref ]] && ! git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
  echo "check-breaking: base $ref ($why) is not a commit here" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exceptions=$tmp/breaking-exceptions.md
node -e 'const fs = require("fs");
  fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1], "utf8").replace(/\\u\{([0-9A-Fa-f]{4,6})\}/g, (_, h) => String.fromCodePoint(parseInt(h, 16))));' \
  "$root/scripts/breaking-exceptions.md" "$exceptions"
status=0
for kind in openapi asyncapi; do
  file=$kind.yaml base=$ref reason=$why
  if [[ -z $base ]]; then
    last=$(git log -n1 --format=%H HEAD -- "$file")
    if [[ -n $last ]] && git rev-parse -q --verify "$last^" >/dev/null; then
      base="$last^" reason="before the last commit that changed $file, $(git log -n1 --format='%h %s' "$last" | cut -c1-72)"
    fi
  fi
  if [[ -z $base ]] || ! git cat-file -e "$base:$file" 2>/dev/null; then
    echo "-- $kind: $file has no earlier version${base:+ at $base}; nothing to compare"
    continue
  fi
  git show "$base:$file" >"$tmp/base-$file"
  rc=0
  compare "$kind" "$tmp/base-$file" "$file" "$file against $(git rev-parse --short "$base") ($reason)" || rc=$?
  (( rc > status )) && status=$rc
done
exit $status
