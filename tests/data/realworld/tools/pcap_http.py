"""Reassembles the TCP streams of a classic pcap (Ethernet/Linux SLL/raw,
IPv4/IPv6), stdlib only. Prints each direction's payload with the frame
numbers where it starts."""
import struct, sys

def packets(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1": e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4": e = ">"
    else: raise SystemExit("not a classic pcap: %r" % magic)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    pos, n = 24, 0
    while pos + 16 <= len(data):
        ts, tu, incl, orig = struct.unpack(e + "IIII", data[pos:pos+16])
        pos += 16
        n += 1
        yield n, ts, linktype, data[pos:pos+incl]
        pos += incl

def ip_payload(linktype, frame):
    if linktype == 1:
        off = 12
        et = struct.unpack(">H", frame[off:off+2])[0]; off += 2
        while et == 0x8100:
            et = struct.unpack(">H", frame[off+2:off+4])[0]; off += 4
        return et, frame[off:]
    if linktype == 113:
        return struct.unpack(">H", frame[14:16])[0], frame[16:]
    if linktype in (101, 12):
        return (0x800 if frame[0] >> 4 == 4 else 0x86dd), frame
    raise SystemExit("linktype %d" % linktype)

def tcp_segments(path):
    for n, ts, lt, fr in packets(path):
        et, ip = ip_payload(lt, fr)
        if et == 0x800:
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6: continue
            tot = struct.unpack(">H", ip[2:4])[0]
            src = ".".join(map(str, ip[12:16])); dst = ".".join(map(str, ip[16:20]))
            seg = ip[ihl:tot]
        elif et == 0x86dd:
            if ip[6] != 6: continue
            plen = struct.unpack(">H", ip[4:6])[0]
            src = ip[8:24].hex(); dst = ip[24:40].hex()
            seg = ip[40:40+plen]
        else:
            continue
        sp, dp, seq = struct.unpack(">HHI", seg[:8])
        doff = (seg[12] >> 4) * 4
        flags = seg[13]
        yield n, ts, (src, sp, dst, dp), seq, flags, seg[doff:]

def streams(path):
    out = {}
    for n, ts, key, seq, flags, pl in tcp_segments(path):
        st = out.setdefault(key, {"isn": None, "segs": {}, "frames": []})
        if flags & 2:
            st["isn"] = seq + 1
            continue
        if pl:
            st["segs"].setdefault(seq, (n, ts, pl))
    res = {}
    for key, st in out.items():
        if not st["segs"]: continue
        base = st["isn"] if st["isn"] is not None else min(st["segs"])
        buf = bytearray(); frames = []
        for seq in sorted(st["segs"]):
            n, ts, pl = st["segs"][seq]
            rel = (seq - base) & 0xffffffff
            if rel > len(buf):
                buf += b"\0" * (rel - len(buf))  # gap
            if rel + len(pl) > len(buf):
                buf[rel:rel+len(pl)] = pl
            frames.append((n, ts, rel))
        res[key] = (bytes(buf), frames)
    return res

if __name__ == "__main__":
    for key, (buf, frames) in streams(sys.argv[1]).items():
        print("== %s:%d -> %s:%d  %d bytes, frames %s" % (key[0], key[1], key[2], key[3], len(buf), [f[0] for f in frames]))
        head = buf.split(b"\r\n\r\n", 1)[0]
        print(head.decode("latin-1")[:3000])
