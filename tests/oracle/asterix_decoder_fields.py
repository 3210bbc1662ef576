"""Decodes ASTERIX with asterix_decoder (Croatia Control's C++ decoder, its Python
binding) for skyfence's differential tests (crates/skyfence/tests/asterix_peers.rs).

Usage: asterix_decoder_fields.py raw PATH     concatenated data blocks
       asterix_decoder_fields.py pcap PATH    a classic pcap of Ethernet/IPv4/UDP frames,
                                              each UDP payload holding data blocks
       asterix_decoder_fields.py samples      the sample recordings shipped inside the
                                              installed package: one JSON line per file
                                              {"file", "kind", "path"}

For every record the decoder prints, one JSON line with the values skyfence's
`decode` prints for it, under the same keys and in the same units; items skyfence does
not read are left out. Where skyfence applies a rule (a Mode 3/A code or a flight level
is taken only when validated and not garbled, as ASTERIX says it may be used), the rule
is applied here on asterix_decoder's own V and G bits.
"""
import json
import os
import struct
import sys

import asterix

DETECTION = [
    "none",
    "psr",
    "ssr",
    "ssr_psr",
    "modes_allcall",
    "modes_rollcall",
    "modes_allcall_psr",
    "modes_rollcall_psr",
]
MESSAGE = {1: "north_marker", 2: "sector_crossing", 3: "geographical_filtering", 4: "jamming_strobe"}


def val(rec, item, field, sub=None):
    it = rec.get(item)
    if it is None:
        return None
    if sub is not None:
        it = it.get(sub)
        if it is None:
            return None
    f = it.get(field)
    return None if f is None else f["val"]


def callsign(text):
    if text is None:
        return None
    text = text.strip()
    return text or None


def common(rec, time_item, time_field):
    return {
        "category": rec["category"],
        "sac": val(rec, "I010", "SAC"),
        "sic": val(rec, "I010", "SIC"),
        "time_of_day_s": val(rec, time_item, time_field),
    }


def cat048(rec):
    out = common(rec, "I140", "ToD")
    typ = val(rec, "I020", "TYP")
    if typ is not None:
        out["detection"] = DETECTION[typ]
    if val(rec, "I020", "SIM") == 1:
        out["simulated"] = True
    if "I220" in rec:
        out["icao24"] = val(rec, "I220", "ACAddr").lower()
    out["callsign"] = callsign(val(rec, "I240", "TId"))
    if "I070" in rec and val(rec, "I070", "V") == 0 and val(rec, "I070", "G") == 0:
        out["squawk"] = val(rec, "I070", "Mode3A")
    out["track_number"] = val(rec, "I161", "Tn")
    if "I170" in rec:
        out["track_tentative"] = val(rec, "I170", "CNF") == 1
        out["track_ended"] = val(rec, "I170", "TRE") == 1
    out["range_nm"] = val(rec, "I040", "RHO")
    out["azimuth_deg"] = val(rec, "I040", "THETA")
    out["x_nm"] = val(rec, "I042", "X")
    out["y_nm"] = val(rec, "I042", "Y")
    if "I090" in rec and val(rec, "I090", "V") == 0 and val(rec, "I090", "G") == 0:
        out["flight_level"] = val(rec, "I090", "FL")
    out["gs_kt"] = val(rec, "I200", "CGS")
    out["track_deg"] = val(rec, "I200", "CHdg")
    return out


def cat034(rec):
    out = common(rec, "I030", "ToD")
    msg = val(rec, "I000", "MsgTyp")
    if msg is not None:
        out["message"] = MESSAGE.get(msg, "other")
        out["sector_deg"] = val(rec, "I020", "Azi")
        out["rotation_period_s"] = val(rec, "I041", "RotS")
        nogo = val(rec, "I050", "NOGO", sub="COM")
        if nogo is not None:
            out["nogo"] = nogo == 1
    return out


def cat062(rec):
    out = common(rec, "I070", "ToT")
    if "I380" in rec:
        adr = val(rec, "I380", "ADR", sub="ADR")
        if adr is not None:
            out["icao24"] = adr.lower()
        out["callsign"] = callsign(val(rec, "I380", "ACID", sub="ID"))
    out["squawk"] = val(rec, "I060", "Mode3A")
    out["track_number"] = val(rec, "I040", "TrkN")
    if "I080" in rec:
        out["track_tentative"] = val(rec, "I080", "CNF") == 1
        out["track_ended"] = val(rec, "I080", "TSE") == 1
        if val(rec, "I080", "SIM") == 1:
            out["simulated"] = True
    out["lat"] = val(rec, "I105", "Lat")
    out["lon"] = val(rec, "I105", "Lon")
    mfl = val(rec, "I136", "MFL")
    # asterix_decoder prints I062/136 in feet; skyfence in flight levels.
    out["flight_level"] = None if mfl is None else mfl / 100.0
    vx, vy = val(rec, "I185", "Vx"), val(rec, "I185", "Vy")
    if vx is not None and vy is not None:
        out["vx_ms"], out["vy_ms"] = vx, vy
    return out


READERS = {48: cat048, 34: cat034, 62: cat062}


def emit(records):
    for rec in records:
        reader = READERS.get(rec["category"])
        if reader is None:
            print(json.dumps({"category": rec["category"], "unsupported": True}))
            continue
        out = {k: v for k, v in reader(rec).items() if v is not None}
        print(json.dumps(out))


def udp_payloads(path):
    """UDP payloads of a classic pcap (either byte order) of Ethernet frames."""
    data = open(path, "rb").read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pos = 24
    while pos + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[pos : pos + 16])
        frame = data[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen
        eth = 14
        ethertype = struct.unpack(">H", frame[12:14])[0]
        while ethertype == 0x8100:
            ethertype = struct.unpack(">H", frame[eth + 2 : eth + 4])[0]
            eth += 4
        if ethertype != 0x0800 or frame[eth + 9] != 17:
            continue
        ihl = (frame[eth] & 0x0F) * 4
        udp = frame[eth + ihl :]
        length = struct.unpack(">H", udp[4:6])[0]
        yield udp[8:length]


def main():
    mode = sys.argv[1]
    if mode == "samples":
        folder = os.path.join(os.path.dirname(asterix.__file__), "sample_data")
        for name in sorted(os.listdir(folder)):
            kind = "pcap" if name.endswith(".pcap") else "raw"
            print(json.dumps({"file": name, "kind": kind, "path": os.path.join(folder, name)}))
    elif mode == "raw":
        emit(asterix.parse(open(sys.argv[2], "rb").read()))
    elif mode == "pcap":
        for payload in udp_payloads(sys.argv[2]):
            emit(asterix.parse(payload))
    else:
        sys.exit("mode: raw, pcap or samples")


if __name__ == "__main__":
    main()
