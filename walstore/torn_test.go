package walstore

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestTornTailEveryOffset cuts the log short at every byte of each of its
// last three records, both by truncating the file (a crash before the size
// grew) and by zeroing everything from that byte on (a crash inside
// preallocated space), and checks that Open keeps exactly the complete
// prefix, cuts the partial record, and that the repaired log takes appends.
func TestTornTailEveryOffset(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	recs := genRecords(rng, 6, 100)
	recs[len(recs)-1].p = bytes.Repeat([]byte{0xA5}, 40)
	// NoSync: the test opens hundreds of logs and crashes none, so the
	// page cache is all it can observe; real fsyncs (of the log, its
	// torn-tail copy, its control file, the directory) would only add
	// seconds.
	opts := Options{PreallocChunk: 1024, NoSync: true}
	_, pristine := buildLog(t, t.TempDir(), "pristine.wal", opts, recs)

	for j := len(recs) - 3; j < len(recs); j++ {
		cutIn := recs[j]
		cutLen := encodedSize(cutIn)
		prefix := recs[:j]
		for _, variant := range []string{"truncate", "zero"} {
			for k := int64(0); k <= cutLen; k++ {
				if k == cutLen && j != len(recs)-1 {
					continue // a cut at a record's end is the next record's cut at 0
				}
				t.Run(fmt.Sprintf("record%d/%s/%d", j, variant, k), func(t *testing.T) {
					data := bytes.Clone(pristine)
					if variant == "truncate" {
						data = data[:cutIn.off+k]
					} else {
						clear(data[cutIn.off+k:])
					}
					path := filepath.Join(t.TempDir(), "node.wal")
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}

					l, info, got := openReplay(t, path, opts)
					if k == cutLen {
						defer l.Close()
						sameRecords(t, got, recs)
						if info.TornAt != -1 {
							t.Fatalf("complete log reported torn at %d", info.TornAt)
						}
						return
					}
					sameRecords(t, got, prefix)
					if l.End() != cutIn.off {
						t.Fatalf("End = %d, want %d", l.End(), cutIn.off)
					}
					checkTorn(t, path, info, cutIn.off, data[cutIn.off:cutIn.off+k])

					more := genRecords(rng, 2, 100)
					appendAll(t, rng, l, more)
					l.Close()
					l, info, got = openReplay(t, path, opts)
					defer l.Close()
					sameRecords(t, got, append(slices.Clone(prefix), more...))
					if info.TornAt != -1 {
						t.Fatalf("repaired log reported torn at %d", info.TornAt)
					}
				})
			}
		}
	}
}

// checkTorn verifies the ReplayInfo of a log whose valid records end at
// off, followed by the bytes tail (and then only zeros): a tail with a
// non-zero byte must have been saved and zeroed, an all-zero one is the
// clean end.
func checkTorn(t *testing.T, path string, info ReplayInfo, off int64, tail []byte) {
	t.Helper()
	nz := int64(lastNonZero(tail))
	if nz < 0 {
		if info.TornAt != -1 || info.TornBytes != 0 || info.TornCopy != "" {
			t.Fatalf("zero tail reported as torn: %+v", info)
		}
		return
	}
	cut := tail[:nz+1]
	if info.TornAt != off || info.TornBytes != int64(len(cut)) {
		t.Fatalf("info %+v, want TornAt %d TornBytes %d", info, off, len(cut))
	}
	if want := fmt.Sprintf("%s.torn-%d", path, off); info.TornCopy != want {
		t.Fatalf("TornCopy = %q, want %q", info.TornCopy, want)
	}
	saved, err := os.ReadFile(info.TornCopy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, cut) {
		t.Fatalf("torn copy holds %x, want %x", saved, cut)
	}
	now, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if i := firstNonZero(now[off:]); i >= 0 {
		t.Fatalf("byte at %d is still non-zero after the cut", off+int64(i))
	}
}

// TestTornTailScattered covers a crash that left sectors of a large write
// on disk out of order: a gap of zeros inside the torn region must not
// end the cut early, or the stale bytes would be read as data later.
func TestTornTailScattered(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	recs := genRecords(rng, 5, 100)
	var logged bytes.Buffer
	opts := Options{PreallocChunk: 8192, Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	path, data := buildLog(t, t.TempDir(), "node.wal", opts, recs)
	end := recs[len(recs)-1].off + encodedSize(recs[len(recs)-1])

	part := AppendRecord(nil, 9, bytes.Repeat([]byte{0x3C}, 4000))
	copy(data[end:], part[:100])
	copy(data[end+3000:], part[3000:3017])
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, info, got := openReplay(t, path, opts)
	sameRecords(t, got, recs)
	checkTorn(t, path, info, end, data[end:end+3017])
	for _, want := range []string{"level=WARN", "file=" + path, fmt.Sprintf("offset=%d", end), "bytes=3017"} {
		if !strings.Contains(logged.String(), want) {
			t.Fatalf("warning %q lacks %q", logged.String(), want)
		}
	}

	// Saving the copy must not overwrite one from an earlier crash at the
	// same offset.
	l.Close()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, info, _ = openReplay(t, path, opts)
	defer l.Close()
	if want := fmt.Sprintf("%s.torn-%d.1", path, end); info.TornCopy != want {
		t.Fatalf("second TornCopy = %q, want %q", info.TornCopy, want)
	}
}

// TestHugeLengthAtTail puts a header claiming about 2 GiB (and, with the
// largest MaxRecord, 1 GiB) where the next record would go. That is a torn
// tail, and judging it must not allocate anything near the claim.
func TestHugeLengthAtTail(t *testing.T) {
	for _, c := range []struct {
		name   string
		opts   Options
		length uint32
	}{
		{"2GiB", Options{}, 0x7fffffff},
		{"1GiB-within-MaxRecord", Options{MaxRecord: 1 << 30}, 1 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(15, 16))
			recs := genRecords(rng, 5, 100)
			path, data := buildLog(t, t.TempDir(), "node.wal", c.opts, recs)
			end := recs[len(recs)-1].off + encodedSize(recs[len(recs)-1])
			hdr := []byte{byte(c.length >> 24), byte(c.length >> 16), byte(c.length >> 8), byte(c.length), 1, 2, 3, 4, 7, 7, 7}
			copy(data[end:], hdr)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			l, info, got := openReplay(t, path, c.opts)
			runtime.ReadMemStats(&after)
			defer l.Close()
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Fatalf("Open allocated %d bytes", alloc)
			}
			sameRecords(t, got, recs)
			checkTorn(t, path, info, end, hdr)
		})
	}
}
