#!/usr/bin/env bash
# `--extract DIR` makes what it writes durable as the store does: each blob's temp file is fsynced
# before it is renamed to its name, and the folder is fsynced after, so a power cut never leaves a
# blob with its final name and missing bytes. Traced with strace (the system calls themselves).
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || skip "needs strace (scripts/setup installs it)"

W="$SCRATCH/work"
demo_workdir "$W"
RUN="$SCRATCH/demo.run"
build_demo "$W" "$RUN"
X="$SCRATCH/extracted"
strace -f -y -qq -e trace=fsync,fdatasync,rename,renameat,renameat2 -o "$SCRATCH/trace" "$RUN" --extract "$X" >/dev/null 2>&1 ||
    skip "strace cannot trace here: $(head -c 300 "$SCRATCH/trace" 2>/dev/null)"
python3 - "$SCRATCH/trace" "$X" <<'PY'
import re, sys
trace, x = sys.argv[1], sys.argv[2]
synced = []      # paths fsynced so far, in order
renames = []     # (index in the event list, old, new)
events = []
for line in open(trace):
    m = re.search(r'\b(fsync|fdatasync)\(\d+<([^>]*)>\)\s*=\s*0', line)
    if m:
        events.append(("sync", m.group(2)))
        continue
    m = re.search(r'\brename(?:at2?)?\((?:[^,]*, )?"([^"]+)", (?:[^,]*, )?"([^"]+)"', line)
    if m and line.rstrip().endswith("= 0"):
        events.append(("rename", m.group(1), m.group(2)))
blob_renames = [(i, e) for i, e in enumerate(events) if e[0] == "rename" and "/blobs/sha256/" in e[2]]
assert blob_renames, "no blob was renamed into place: %s" % events[:5]
for i, (_, old, new) in blob_renames:
    before = [e[1] for e in events[:i] if e[0] == "sync"]
    after = [e[1] for e in events[i + 1:] if e[0] == "sync"]
    assert old in before, "%s was renamed to %s without an fsync of its bytes first" % (old, new)
    folder = new.rsplit("/", 1)[0]
    assert folder in after, "the folder %s was not fsynced after %s was renamed into it" % (folder, new)
print("extract_fsync: %d blobs, each fsynced before its rename and its folder after" % len(blob_renames))
PY
echo "extract_fsync: ok"
