#!/usr/bin/env bash
# Compares the candidate engines interleaved: ROUNDS rounds (default 3), each
# running bbolt then pebble in their own process on a fresh store, then prints
# the median and the spread (min–max) of every figure.
#   TXD_KV_BIG=1 ./run.sh          # 1M keys
#   TXD_KV_KEYS=10000000 ./run.sh  # any size (TXD_KV_DIR picks the disk)
#   TXD_KV_PEBBLE_CACHE_MIB=256 TXD_KV_PEBBLE_BLOOM=0 ./run.sh  # pebble tuned
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
	for e in bbolt pebble; do
		echo "round $r: $e" >&2
		go test -run '^$' -bench "Engine/$e/" -benchtime "${BENCHTIME:-2s}" -timeout 60m . | tee -a "$out" >&2
	done
done
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkEngine\//, "", name)
	for (i = 3; i < NF; i += 2) { k = name SUBSEP $(i+1); v[k] = v[k] " " $i; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
}
/^# / { sub(/^# /, ""); split($0, w, " "); notes[++m] = $0 }
END {
	for (j = 1; j <= n; j++) {
		k = order[j]; split(k, nk, SUBSEP); c = split(substr(v[k], 2), a, " ")
		for (x = 1; x <= c; x++) for (y = x + 1; y <= c; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
		med = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
		printf "%-36s %-14s median %12.4g  (%g–%g, n=%d)\n", nk[1], nk[2], med, a[1], a[c], c
	}
	for (j = 1; j <= m; j++) print "# " notes[j]
}' "$out"
