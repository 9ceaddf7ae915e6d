#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_demux (tests/fuzz/corpus/demux/): sessions
of datagrams in the target's record format -- len (2 bytes BE) | ctl | bytes,
ctl bit 7 = on the subscriber connection, bits 0-6 = ms before it -- using
the ssrcs, payload types and extension ids that fuzz_demux.c sets up.
Usage: tests/fuzz/gen_demux_seeds.py [OUTDIR]   (default: the corpus dir)"""
import os
import struct
import sys

AUDIO_SSRC, VIDEO_SSRC = 0x11111111, 0x22222222
SUB_AUDIO_SSRC, SUB_VIDEO_SSRC = 0x33333330, 0x33333331
BROWSER_SSRC = 0x0BADCAFE
# The subscriber's sequence numbers start at random (GLib's generator, seeded
# per input by fuzz_demux.c): the first one each session's video gets, so the
# seeds' NACKs hit the retransmission history.
AV_VIDEO_OUT0, FIRST_OUT0 = 4126, 40447
EXT_LEVEL, EXT_ABS, EXT_MID = 1, 3, 4


def rtp(pt, seq, ts, ssrc, exts=(), payload=b"", marker=False, pad=0):
    ext = b""
    if exts:
        body = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in exts)
        body += b"\0" * (-len(body) % 4)
        ext = struct.pack("!HH", 0xBEDE, len(body) // 4) + body
    b0 = 0x80 | (0x10 if ext else 0) | (0x20 if pad else 0)
    hdr = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    tail = (b"\0" * (pad - 1) + bytes([pad])) if pad else b""
    return hdr + ext + payload + tail


def rtcp(pt, fmt, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!BBH", 0x80 | fmt, pt, (len(body) + 4) // 4 - 1) + body


def sr(ssrc, ntp, rtp_ts, packets, octets):
    return rtcp(200, 0, struct.pack("!IQIII", ssrc, ntp, rtp_ts, packets, octets))


def rr(ssrc, src, lost=0, hseq=0):
    blk = struct.pack("!IIIIII", src, lost & 0xFFFFFF, hseq, 7, 0, 0)
    return rtcp(201, 1, struct.pack("!I", ssrc) + blk)


def nack(ssrc, media, pid, blp=0):
    return rtcp(205, 1, struct.pack("!IIHH", ssrc, media, pid, blp))


def pli(ssrc, media):
    return rtcp(206, 1, struct.pack("!II", ssrc, media))


def fir(ssrc, media, seqnr):
    return rtcp(206, 4, struct.pack("!IIIB3x", ssrc, 0, media, seqnr))


def remb(ssrc, bps, ssrcs):
    exp, mant = 0, bps
    while mant >= (1 << 18):
        mant >>= 1
        exp += 1
    body = struct.pack("!II4sB", ssrc, 0, b"REMB", len(ssrcs))
    body += bytes([(exp << 2) | (mant >> 16), (mant >> 8) & 0xFF, mant & 0xFF])
    body += b"".join(struct.pack("!I", s) for s in ssrcs)
    return rtcp(206, 15, body)


def sdes(ssrc, cname):
    item = bytes([1, len(cname)]) + cname + b"\0"
    return rtcp(202, 1, struct.pack("!I", ssrc) + item)


def opus(seq, ts, ssrc=AUDIO_SSRC, mid=b"0"):
    return rtp(111, seq, ts, ssrc, [(EXT_LEVEL, b"\x1e"), (EXT_MID, mid)], b"\xfc\xff\xfe" + bytes(range(40)))


def vp8(seq, ts, key, ssrc=VIDEO_SSRC, start=True, pt=96, mid=b"1"):
    desc = b"\x10" if start else b"\x00"
    if key and start:
        payload = desc + b"\x50\x42\x00\x9d\x01\x2a\x80\x02\xe0\x01" + bytes(range(60))
    else:
        payload = desc + b"\x31\x07\x00" + bytes(range(30))
    exts = [(EXT_ABS, b"\x12\x34\x56"), (EXT_MID, mid)]
    return rtp(pt, seq, ts, ssrc, exts, payload, marker=True)


STUN = bytes.fromhex("000100082112a442") + b"fuzzfuzzfuzz" + bytes.fromhex("80220004") + b"test"
DTLS_HELLO = bytes.fromhex("16fefd0000000000000000002c010000200000000000000020fefd") + bytes(32) + b"\0\0\x02\xc0\x2b\x01\x00"


def rec(pkt, ms=0, sub=False):
    return struct.pack("!HB", len(pkt), (0x80 if sub else 0) | (ms & 0x7F)) + pkt


def session_av():
    out = [rec(STUN), rec(DTLS_HELLO, 5), rec(STUN, 1, sub=True)]
    for i in range(6):
        out.append(rec(opus(500 + i, 960 * i), 20))
    seqs = [1000, 1001, 1002, 1004, 1005, 1008, 1003, 1009]  # gaps, one late arrival
    for n, s in enumerate(seqs):
        out.append(rec(vp8(s, 3000 * (s - 1000), key=(n == 0)), 33))
    out.append(rec(sr(VIDEO_SSRC, 0xE89ABCDE80000000, 27000, 9, 900) + sdes(VIDEO_SSRC, b"cname"), 10))
    out.append(rec(sr(AUDIO_SSRC, 0xE89ABCDE80000000, 5760, 6, 300), 0))
    out.append(rec(rr(SUB_VIDEO_SSRC, SUB_VIDEO_SSRC, 1, 5) + remb(BROWSER_SSRC, 800000, [SUB_VIDEO_SSRC]), 40, True))
    out.append(rec(rr(BROWSER_SSRC, SUB_VIDEO_SSRC) + nack(BROWSER_SSRC, SUB_VIDEO_SSRC, AV_VIDEO_OUT0 + 1, 0x0005), 5, True))
    out.append(rec(rr(BROWSER_SSRC, SUB_VIDEO_SSRC) + pli(BROWSER_SSRC, SUB_VIDEO_SSRC), 5, True))
    out.append(rec(fir(BROWSER_SSRC, SUB_VIDEO_SSRC, 1), 100, True))
    out.append(rec(vp8(1010, 30000, key=True), 127))
    out.append(rec(nack(BROWSER_SSRC, SUB_AUDIO_SSRC, 0, 0xFFFF), 10, True))
    return b"".join(out)


def session_ssrc_restart():
    """A publisher restarts its camera: new ssrc, found by the mid extension."""
    out = []
    for i in range(4):
        out.append(rec(vp8(7000 + i, 1000 + 3000 * i, key=(i == 0)), 33))
    out.append(rec(pli(BROWSER_SSRC, SUB_VIDEO_SSRC), 1, True))
    out.append(rec(nack(BROWSER_SSRC, SUB_VIDEO_SSRC, FIRST_OUT0 + 1, 0x0001), 1, True))
    new = 0x44444444
    for i in range(4):
        out.append(rec(vp8(100 + i, 50 + 3000 * i, key=(i == 1), ssrc=new), 33))
    out.append(rec(rtp(96, 104, 12050, 0x55555555, [(EXT_MID, b"9")], b"\x10\x00"), 5))  # unknown mid
    out.append(rec(opus(1, 0, ssrc=0x66666666), 5))  # audio restart by mid "0"
    out.append(rec(sr(new, 0xE89ABCDF00000000, 9050, 4, 400), 10))
    return b"".join(out)


def session_h264():
    sps = bytes.fromhex("6742c01f95a014016c")
    pps = bytes.fromhex("68ce3c80")
    stap = b"\x18" + struct.pack("!H", len(sps)) + sps + struct.pack("!H", len(pps)) + pps
    fu_start = b"\x7c\x85" + bytes(range(100))
    fu_mid = b"\x7c\x05" + bytes(range(100))
    fu_end = b"\x7c\x45" + bytes(range(50))
    exts = [(EXT_MID, b"1")]
    out = [rec(rtp(102, 20, 900, VIDEO_SSRC, exts, stap), 1)]
    for n, p in enumerate([fu_start, fu_mid, fu_end]):
        out.append(rec(rtp(102, 21 + n, 900, VIDEO_SSRC, exts, p, marker=(n == 2)), 1))
    out.append(rec(rtp(102, 24, 3900, VIDEO_SSRC, exts, b"\x41\x9a" + bytes(20), marker=True, pad=4), 33))
    out.append(rec(rtp(97, 25, 6900, VIDEO_SSRC, exts, b"\x10\x00"), 33))  # pt not negotiated
    out.append(rec(nack(BROWSER_SSRC, SUB_VIDEO_SSRC, FIRST_OUT0, 0xFFFF), 5, True))
    return b"".join(out)


def session_wrap():
    """Sequence numbers across the wrap, duplicates, reordering, a big jump."""
    out = []
    seqs = [65530, 65531, 65533, 65535, 0, 65534, 1, 1, 3, 65532, 2, 400, 401, 399]
    for n, s in enumerate(seqs):
        out.append(rec(vp8(s, (0xFFFF0000 + 3000 * n) & 0xFFFFFFFF, key=(n == 0)), 20))
    for n in range(4):
        out.append(rec(opus((65534 + n) & 0xFFFF, 0xFFFFFC40 + 960 * n), 20))
    out.append(rec(b"", 127))  # empty datagram, then only time passes
    out.append(rec(b"", 127))
    return b"".join(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "demux")
    os.makedirs(outdir, exist_ok=True)
    seeds = {
        "session_audio_video_rtcp.bin": session_av(),
        "session_ssrc_restart_by_mid.bin": session_ssrc_restart(),
        "session_h264_stapa_fua.bin": session_h264(),
        "session_seq_wrap_reorder.bin": session_wrap(),
        "raw_vp8_keyframe.bin": vp8(1, 0, key=True),
        "raw_rtcp_rr_nack_pli.bin": rr(BROWSER_SSRC, SUB_VIDEO_SSRC) + nack(BROWSER_SSRC, SUB_VIDEO_SSRC, 7, 3)
        + pli(BROWSER_SSRC, SUB_VIDEO_SSRC),
        "raw_stun_binding.bin": STUN,
        "raw_dtls_client_hello.bin": DTLS_HELLO,
    }
    for name, data in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
