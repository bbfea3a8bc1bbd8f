"""Reading and editing an mp4's boxes in place, for smart cuts (pipeline.cutting.cut).

- `parameter_sets`, `parameter_set_id`: the SPS/PPS NAL units of an avcC record;
- `mp4_parameter_sets`, `merge_parameter_sets`: read the SPS/PPS in the avcC of an mp4 whose
  moov is at its end, and add more, so one sample description carries the parameter sets of
  every joined part;
- `edit_sound`: set the edit list of an mp4's sound track in place, so that stream-copied
  AAC packets play from an exact sample for an exact length.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.errors import MediaError


def parameter_sets(extradata: bytes) -> tuple[list[bytes], list[bytes]]:
    """The SPS and PPS NAL units of an avcC record or Annex B extradata."""
    if extradata[:1] == b"\x01":
        _, sps, pps, _ = _split_avcc(extradata)
        return sps, pps
    units = _annexb_units(extradata)
    return ([u for u in units if u and u[0] & 0x1F == 7],
            [u for u in units if u and u[0] & 0x1F == 8])


def parameter_set_id(unit: bytes) -> int:
    """seq_parameter_set_id of an SPS, pic_parameter_set_id of a PPS (an ue(v) field)."""
    rbsp = unit[1:].replace(b"\x00\x00\x03", b"\x00\x00")
    if unit[0] & 0x1F == 7:
        rbsp = rbsp[3:]  # profile_idc, constraint flags and level_idc come first
    bits = "".join(f"{byte:08b}" for byte in rbsp[:8])
    zeros = len(bits) - len(bits.lstrip("0"))
    return int(bits[zeros:2 * zeros + 1], 2) - 1


def _find_moov(handle: BinaryIO) -> tuple[int, bool]:
    """Where the top-level moov box starts (-1: none), and whether it is the last box and
    the boxes tile the file exactly to its end."""
    moov_at, end, pos, kind = -1, handle.seek(0, 2), 0, b""
    while pos + 8 <= end:
        handle.seek(pos)
        header = handle.read(16)
        size, kind = struct.unpack_from(">I4s", header)
        size = struct.unpack_from(">Q", header, 8)[0] if size == 1 else size or end - pos
        moov_at = pos if kind == b"moov" else moov_at
        pos += max(size, 8)
    return moov_at, pos == end and kind == b"moov"


def mp4_parameter_sets(mp4: Path) -> tuple[list[bytes], list[bytes]]:
    """The SPS and PPS in the avcC of an mp4 whose moov is its last box (what ffmpeg writes
    without +faststart), read from the file."""
    with mp4.open("rb") as handle:
        moov_at, _ = _find_moov(handle)
        if moov_at < 0:
            raise MediaError(f"{mp4.name}: no moov box")
        handle.seek(moov_at)
        moov = handle.read()
    found = _find_avcc(moov, 0, len(moov), [])
    if found is None:
        raise MediaError(f"{mp4.name}: no avcC sample description")
    _, (at, header_size, size) = found
    _, sps, pps, _ = _split_avcc(moov[at + header_size:at + size])
    return sps, pps


def merge_parameter_sets(mp4: Path, sps: list[bytes], pps: list[bytes]) -> None:
    """Add SPS/PPS to the avcC of `mp4`, whose moov must be its last box (ffmpeg writes it
    there without +faststart), so only the moov is rewritten and no sample moves."""
    with mp4.open("r+b") as handle:
        moov_at, last_is_moov = _find_moov(handle)
        if moov_at < 0 or not last_is_moov:
            raise MediaError(f"{mp4.name}: moov is not the last box; cannot add parameter sets")
        handle.seek(moov_at)
        moov = bytearray(handle.read())
        found = _find_avcc(bytes(moov), 0, len(moov), [])
        if found is None:
            raise MediaError(f"{mp4.name}: no avcC sample description")
        ancestors, (at, header_size, size) = found
        head, old_sps, old_pps, trailer = _split_avcc(bytes(moov[at + header_size:at + size]))
        record = _avcc(head, old_sps + [s for s in sps if s not in old_sps],
                       old_pps + [p for p in pps if p not in old_pps], trailer)
        delta = len(record) - (size - header_size)
        for box_at in [*ancestors, at]:
            struct.pack_into(">I", moov, box_at, struct.unpack_from(">I", moov, box_at)[0] + delta)
        moov[at + header_size:at + size] = record
        handle.seek(moov_at)
        handle.write(moov)
        handle.truncate()


def edit_sound(mp4: Path, media_time: int, seconds: Fraction) -> None:
    """Make the sound track of `mp4` play from `media_time` (ticks of its time scale, from
    its first sample) for `seconds`: rewrite, in place, the one edit that ffmpeg writes for
    it, and the track's and the movie's durations (no box changes size, no sample moves)."""
    with mp4.open("r+b") as handle:
        end, pos, moov_at, moov_size = handle.seek(0, 2), 0, -1, 0
        while pos + 8 <= end:
            handle.seek(pos)
            header = handle.read(16)
            size, kind = struct.unpack_from(">I4s", header)
            size = struct.unpack_from(">Q", header, 8)[0] if size == 1 else size or end - pos
            if kind == b"moov":
                moov_at, moov_size = pos, size
            pos += max(size, 8)
        if moov_at < 0:
            raise MediaError(f"{mp4.name}: no moov box; cannot set the sound's edit list")
        handle.seek(moov_at)
        moov = bytearray(handle.read(moov_size))
        try:
            _set_sound_edit(mp4.name, moov, media_time, seconds)
        except (KeyError, IndexError, struct.error) as exc:
            raise MediaError(f"{mp4.name}: cannot set the sound's edit list ({exc!r})") from exc
        handle.seek(moov_at)
        handle.write(moov)


def _set_sound_edit(name: str, moov: bytearray, media_time: int, seconds: Fraction) -> None:
    data = bytes(moov)
    boxes = {kind: (pos, header) for kind, pos, header, _ in _boxes(data, 8, len(data))}
    if b"mvhd" not in boxes:
        raise MediaError(f"{name}: no mvhd box")
    mvhd = boxes[b"mvhd"][0]
    v1 = data[mvhd + 8] == 1
    timescale = struct.unpack_from(">I", data, mvhd + (28 if v1 else 20))[0]
    length = round(seconds * timescale)
    durations, found = [], False
    for kind, trak, header, size in _boxes(data, 8, len(data)):
        if kind != b"trak":
            continue
        children = {k: (p, h, z) for k, p, h, z in _boxes(data, trak + header, trak + size)}
        tkhd = children[b"tkhd"][0]
        tkhd_v1 = data[tkhd + 8] == 1
        at = tkhd + (36 if tkhd_v1 else 28)
        handler = b""
        if b"mdia" in children:
            mdia, mdia_header, mdia_size = children[b"mdia"]
            for child, child_at, _, _ in _boxes(data, mdia + mdia_header, mdia + mdia_size):
                if child == b"hdlr":
                    handler = data[child_at + 16:child_at + 20]
        if handler != b"soun":
            durations.append(struct.unpack_from(">Q" if tkhd_v1 else ">I", data, at)[0])
            continue
        if found:
            raise MediaError(f"{name}: more than one sound track")
        found = True
        edts = children.get(b"edts")
        elst = next((p for k, p, _, _ in _boxes(data, edts[0] + edts[1], edts[0] + edts[2])
                     if k == b"elst"), None) if edts else None
        if elst is None or struct.unpack_from(">I", data, elst + 12)[0] != 1:
            raise MediaError(f"{name}: the sound track has no single edit to set")
        if data[elst + 8] == 1:
            struct.pack_into(">Qq", moov, elst + 16, length, media_time)
        elif length < 2**32 and media_time < 2**31:
            struct.pack_into(">Ii", moov, elst + 16, length, media_time)
        else:
            raise MediaError(f"{name}: the sound's edit does not fit its edit list")
        struct.pack_into(">Q" if tkhd_v1 else ">I", moov, at, length)
        durations.append(length)
    if not found:
        raise MediaError(f"{name}: no sound track")
    struct.pack_into(">Q" if v1 else ">I", moov, mvhd + (32 if v1 else 24), max(durations))


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes, start: int, end: int) -> Any:
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos, header, size
        pos += size


def _find_avcc(data: bytes, start: int, end: int,
               path: list[int]) -> tuple[list[int], tuple[int, int, int]] | None:
    for kind, pos, header, size in _boxes(data, start, end):
        if kind in _CONTAINERS and header == 8:
            found = _find_avcc(data, pos + header, pos + size, [*path, pos])
            if found:
                return found
        elif kind == b"stsd":  # full box: version/flags and an entry count, then entries
            for entry, entry_at, entry_header, entry_size in _boxes(data, pos + 16, pos + size):
                if entry in (b"avc1", b"avc3") and entry_header == 8:
                    # 78 bytes of VisualSampleEntry fields come before the child boxes
                    for child, child_at, child_header, child_size in _boxes(
                            data, entry_at + 8 + 78, entry_at + entry_size):
                        if child == b"avcC" and child_header == 8:
                            return ([*path, pos, entry_at],
                                    (child_at, child_header, child_size))
    return None


def _split_avcc(record: bytes) -> tuple[bytes, list[bytes], list[bytes], bytes]:
    """An avcC record: its first 5 bytes, the SPS, the PPS, and what follows them."""
    pos, units = 5, []
    for mask in (0x1F, 0xFF):
        count, pos, found = record[pos] & mask, pos + 1, []
        for _ in range(count):
            length = struct.unpack_from(">H", record, pos)[0]
            found.append(record[pos + 2:pos + 2 + length])
            pos += 2 + length
        units.append(found)
    return record[:5], units[0], units[1], record[pos:]


def _avcc(head: bytes, sps: list[bytes], pps: list[bytes], trailer: bytes) -> bytes:
    out = bytearray(head)
    out.append(0xE0 | len(sps))
    for unit in sps:
        out += struct.pack(">H", len(unit)) + unit
    out.append(len(pps))
    for unit in pps:
        out += struct.pack(">H", len(unit)) + unit
    return bytes(out + trailer)


def _annexb_units(data: bytes) -> list[bytes]:
    parts = data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01")
    return [p.rstrip(b"\x00") for p in parts[1:]]


def hexdump_bytes(dump: str) -> bytes:
    """Bytes of ffprobe's -show_data dump: 'OFFSET: xxxx xxxx ...  ascii' lines."""
    return bytes.fromhex("".join(line[10:50].replace(" ", "")
                                 for line in dump.splitlines() if line[8:10] == ": "))
