"""Reading a database directory back: which checkpoint, which log, what is damaged.

``inspect()`` reads everything and changes nothing (``kvstore check`` prints
it).  ``apply()`` makes the directory match what recovery decided: drop a
torn tail, remove leftovers, and under repair cut the log at the first
damage.  ``Recovery`` is what the engine consumes: the snapshot chunks, then
the log payloads to replay, and a report.  The rules are in docs/format.md.
"""

import logging
import os

from . import checkpoint as ckpt
from . import wal
from .errors import CorruptionError, UnsupportedFormatError

log = logging.getLogger("kvstore.durability")

LOST_DIR = "lost"


class Inspection:
    """What is in a database directory and what opening it would do.

    ``checkpoint``: the CheckpointInfo recovery starts from (None: none).
    ``start_lsn``: replay records from this LSN.  ``segments``: the chain of
    SegmentScans read, oldest first.  ``fatal``: the CorruptionError that
    makes a normal open refuse (None if it would open).  ``cut``:
    ``(segment index, offset)`` where the good log ends if something is
    damaged (offset None: drop that whole segment).  ``tail``: the torn-tail
    Damage an open drops.  ``stale``: obsolete files an open removes.
    ``unread``: segments after the cut.  ``notes``: human-readable findings.
    """

    def __init__(self, directory):
        self.directory = directory
        self.checkpoint = None
        self.checkpoints = []              # (path, CheckpointInfo or CorruptionError), newest first
        self.start_lsn = 1
        self.segments = []
        self.unread = []
        self.stale = []
        self.fatal = None
        self.unrepairable = None
        self.cut = None
        self.tail = None
        self.damage = None                 # the first Damage (torn or corrupt) in the chain
        self.damaged_checkpoints = []
        self.notes = []

    @property
    def next_lsn(self):
        """LSN of the next record once the damage (if any) is cut off."""
        if self.cut is not None:
            index, offset = self.cut
            if offset is None:
                return self.segments[index - 1].next_lsn if index > 0 else self.start_lsn
        return self.segments[-1].next_lsn if self.segments else self.start_lsn

    @property
    def replay_records(self):
        return sum(max(0, s.records - max(0, self.start_lsn - s.first_lsn)) for s in self.segments
                   if s.last_lsn is not None and s.last_lsn >= self.start_lsn)


def _list(fs, directory):
    segments, checkpoints, temps = [], [], []
    for name in fs.listdir(directory):
        path = os.path.join(directory, name)
        if name.endswith(".tmp"):
            temps.append(path)
        elif (lsn := wal.parse_segment_name(name)) is not None:
            segments.append((lsn, path))
        elif (lsn := ckpt.parse_checkpoint_name(name)) is not None:
            checkpoints.append((lsn, path))
    return sorted(segments), sorted(checkpoints, reverse=True), sorted(temps)


def _covering_start(segments, start_lsn):
    """Index of the segment holding ``start_lsn`` (the last one starting at or before it)."""
    index = None
    for i, (first, _path) in enumerate(segments):
        if first <= start_lsn:
            index = i
    return index


def inspect(fs, directory):
    """Read the directory (no changes) and decide what an open (or a repair) would do.

    If the newest checkpoint is damaged, ``fatal`` says so and the log is read
    relative to what repair would fall back to: an older valid checkpoint, or
    none, when the log still reaches back to it (else ``unrepairable``).
    """
    info = Inspection(directory)
    segments, checkpoints, temps = _list(fs, directory)
    info.stale.extend(temps)
    for _lsn, path in checkpoints:
        try:
            info.checkpoints.append((path, ckpt.validate(fs, path)))
        except UnsupportedFormatError:
            raise
        except CorruptionError as exc:
            info.checkpoints.append((path, exc))
    base = info.checkpoints[0][1] if info.checkpoints else None
    if isinstance(base, CorruptionError):
        info.fatal = base
        base = _repair_base(info, segments)
        if base is None:
            info.unrepairable = CorruptionError(
                info.fatal.path, info.fatal.offset,
                f"{info.fatal.reason}; no older checkpoint is usable and the log does not reach back far "
                f"enough to rebuild the data without it, so this database cannot be repaired", hint=False)
            info.unread = [p for _, p in segments]
            return info
        info.notes.append("repair falls back to " + ("the log alone" if base == "none" else base.path))
        base = None if base == "none" else base
    return _read_log(fs, info, segments, base)


def _repair_base(info, segments):
    """An older valid checkpoint (or "none") whose log is still there, or None."""
    for _path, found in info.checkpoints[1:]:
        if not isinstance(found, CorruptionError) and _covering_start(segments, found.start_lsn) is not None:
            return found
    if segments and segments[0][0] == 1:
        return "none"
    return None


def _read_log(fs, info, segments, base):
    info.checkpoint = base
    info.start_lsn = base.start_lsn if base is not None else 1
    for path, found in info.checkpoints:
        if isinstance(found, CorruptionError):
            info.damaged_checkpoints.append(path)
        elif found is not base:
            info.stale.append(path)
    if not segments:
        if base is not None and base.end_lsn > base.start_lsn and info.fatal is None:
            info.fatal = CorruptionError(base.path, None, f"the log is missing: the checkpoint needs log records "
                                                          f"{base.start_lsn}..{base.end_lsn - 1}")
        return info
    start = _covering_start(segments, info.start_lsn)
    if start is None:
        first, path = segments[0]
        if info.fatal is None:
            info.fatal = CorruptionError(path, 0, f"log records {info.start_lsn}..{first - 1} are missing "
                                                  f"(the log starts at LSN {first})")
        info.unrepairable = info.fatal
        info.unread = [p for _, p in segments]
        return info
    info.stale.extend(p for _, p in segments[:start])
    chain = segments[start:]
    expect = None
    for i, (_first, path) in enumerate(chain):
        last = i == len(chain) - 1
        try:
            scan_ = wal.scan_segment(fs.read_bytes(path), path, expect, last)
        except UnsupportedFormatError:
            raise
        except CorruptionError as exc:
            info.cut = (i, None)
            info.fatal = info.fatal or exc
            info.unread = [p for _, p in chain[i:]]
            break
        info.segments.append(scan_)
        expect = scan_.next_lsn
        if scan_.damage is not None:
            info.damage = scan_.damage
            info.cut = (i, scan_.damage.offset)
            info.unread = [p for _, p in chain[i + 1:]]
            if scan_.damage.kind == "torn":
                info.tail = scan_.damage
            else:
                info.fatal = info.fatal or scan_.damage.error()
            break
    if base is not None and info.next_lsn < base.end_lsn and info.fatal is None:
        info.fatal = CorruptionError(base.path, None, f"the log ends at LSN {info.next_lsn - 1} but the "
                                                      f"checkpoint needs it through LSN {base.end_lsn - 1}")
    return info


# --------------------------------------------------------------------------- acting on it


def apply(fs, info, repair=False, sync=True, retain=None):
    """Make the directory match ``info``: returns a list of dropped-data dicts.

    Normal open: refuse if ``info.fatal``; otherwise truncate a torn tail and
    remove stale files.  Repair: cut the log at the first damage, moving what
    is cut (and later segments) to ``lost/``.  ``retain(path)`` may keep a stale
    segment or checkpoint instead (point-in-time recovery's history: it returns True).
    """
    if info.unrepairable is not None:
        raise info.unrepairable
    if info.fatal is not None and not repair:
        raise info.fatal
    dropped = []
    if info.cut is not None and (repair or info.tail is not None):
        dropped = _cut(fs, info, repair, sync)
    if repair:
        for path in info.damaged_checkpoints:
            fs.rename(path, _lost_path(fs, info, os.path.basename(path)))
            dropped.append({"file": path, "offset": 0, "bytes": fs.size(_lost_path(fs, info, os.path.basename(path))),
                            "reason": "damaged checkpoint; moved to lost/"})
        _fix_checkpoint_after_cut(fs, info, sync)
        info.fatal = None
    for path in info.stale:
        try:
            if retain is not None and not path.endswith(".tmp") and retain(path):
                continue
            fs.remove(path)
        except FileNotFoundError:
            pass
    if sync and (dropped or info.stale):
        fs.fsync_dir(info.directory)
    return dropped


def _lost_path(fs, info, name):
    lost = os.path.join(info.directory, LOST_DIR)
    fs.makedirs(lost)
    return os.path.join(lost, name)


def _cut(fs, info, repair, sync):
    index, offset = info.cut
    dropped = []
    if offset is not None:
        scan_ = info.segments[index]
        data = fs.read_bytes(scan_.path)
        reason = info.damage.reason if info.damage is not None else "cut by repair"
        if repair:
            fs.write_file(_lost_path(fs, info, f"{os.path.basename(scan_.path)}.{offset}"), data[offset:], sync)
        f = fs.open_append(scan_.path)
        try:
            f.truncate(offset)
            if sync:
                f.sync()
        finally:
            f.close()
        damage = info.damage
        # (a preallocated segment's zeros after the damage were never written: not counted as dropped)
        lost = damage.dropped if damage is not None and (damage.path, damage.offset) == (scan_.path, offset) \
            else len(data) - offset
        dropped.append({"file": scan_.path, "offset": offset, "bytes": lost, "reason": reason})
        log.warning("dropped %d bytes at the end of %s from offset %d (%s)", lost, scan_.path, offset, reason)
        del info.segments[index + 1:]
        scan_.end = scan_.size = offset
        scan_.damage = None
    else:
        del info.segments[index:]
    if repair:
        for path in info.unread:
            if offset is not None and path == info.segments[index].path:
                continue
            size = fs.size(path)
            fs.rename(path, _lost_path(fs, info, os.path.basename(path)))
            dropped.append({"file": path, "offset": 0, "bytes": size, "reason": "after the damage; moved to lost/"})
            log.warning("repair moved %s (%d bytes) to %s/", path, size, LOST_DIR)
    info.cut = None
    info.unread = []
    info.fatal = None
    return dropped


def _fix_checkpoint_after_cut(fs, info, sync):
    """After a repair cut the log may end before what the checkpoint needs; make them agree."""
    base = info.checkpoint
    if base is None:
        return
    if info.next_lsn < base.start_lsn:
        # every surviving record predates the checkpoint: the log restarts at its LSN
        for s in info.segments:
            fs.rename(s.path, _lost_path(fs, info, os.path.basename(s.path)))
        info.segments = []
    if info.next_lsn < base.end_lsn:
        info.notes.append(f"the checkpoint holds writes up to LSN {base.end_lsn - 1} that the damaged log "
                          f"lost; the repaired database may show some of them")
        data = fs.read_bytes(base.path)
        end = len(data) - ckpt.FOOTER.size
        foot = ckpt.FOOTER.pack(ckpt.END_MARKER, base.chunks, info.next_lsn, 0)[:-4]
        tmp = base.path + ".tmp"
        fs.write_file(tmp, data[:end] + foot + ckpt.zlib.crc32(foot).to_bytes(4, "little"), sync)
        fs.rename(tmp, base.path)
        base.end_lsn = info.next_lsn


# --------------------------------------------------------------------------- what the engine consumes


class Recovery:
    """The result of ``Durability.recover()``.

    ``snapshot_chunks()`` yields the decoded chunks of the checkpoint (none if
    there is no checkpoint); ``log_payloads()`` yields the payloads to replay,
    in LSN order; ``report`` says what was found and what was dropped.
    """

    def __init__(self, fs, info, dropped, repaired=False):
        self._fs = fs
        self._info = info
        self.next_lsn = info.next_lsn
        self.start_lsn = info.start_lsn
        cp = info.checkpoint
        self.report = {
            "directory": info.directory,
            "checkpoint": cp.as_dict() if cp is not None else None,
            "segments": [s.path for s in info.segments],
            "records": info.replay_records,
            "start_lsn": info.start_lsn,
            "next_lsn": info.next_lsn,
            "dropped": dropped,
            "removed": list(info.stale),
            "repaired": repaired,
            "notes": list(info.notes),
        }

    def snapshot_chunks(self):
        if self._info.checkpoint is None:
            return iter(())
        return ckpt.read_chunks(self._fs, self._info.checkpoint.path)

    def log_payloads(self):
        for _lsn, payload in self.log_records():
            yield payload

    def log_records(self):
        """``(lsn, payload)`` of every record to replay, in LSN order."""
        for s in self._info.segments:
            if s.last_lsn is None or s.last_lsn < self.start_lsn:
                continue
            data = self._fs.read_bytes(s.path)
            if len(data) < s.end or wal.decode_segment_header(data, s.path) != s.first_lsn:
                raise CorruptionError(s.path, None, "segment changed after it was checked")
            yield from wal.iter_payloads(data, s.path, self.start_lsn, s.end, verify=False)

    def describe(self):
        """The report as a few lines of text."""
        r = self.report
        lines = [f"recovered {r['directory']}: "
                 + (f"checkpoint {os.path.basename(r['checkpoint']['file'])}, " if r["checkpoint"] else "no checkpoint, ")
                 + f"{len(r['segments'])} log segment(s), {r['records']} record(s) to replay from LSN {r['start_lsn']}"]
        for d in r["dropped"]:
            lines.append(f"dropped {d['bytes']} bytes of {d['file']} from offset {d['offset']}: {d['reason']}")
        lines.extend(r["notes"])
        return "\n".join(lines)
