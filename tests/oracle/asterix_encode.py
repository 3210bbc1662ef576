"""Encodes ASTERIX records with libasterix (an independent, pure-Python implementation
of the EUROCONTROL specifications) for skyfence's differential test
(crates/skyfence-decode/tests/asterix_oracle.rs).

For every edition libasterix knows of CAT048, CAT034, CAT062 and CAT021 that skyfence
claims, prints one JSON line: the category, the edition, the data block in hex and the
values it was built from (in skyfence's units), which skyfence must decode back. The
records also carry items skyfence skips (compound, repetitive and explicit ones), so a
wrong length in skyfence's tables shows as a failed walk.
"""
import json
import sys

from asterix.base import *  # noqa: F401,F403
import asterix.generated as gen


def block(cat_cls, items):
    rec = cat_cls.cv_record.create(items)
    return cat_cls.create([rec]).unparse().to_bytes().hex()


def emit(cat, edition, items_hex, expect):
    print(json.dumps({"category": cat, "edition": edition, "hex": items_hex, "expect": expect}))


def cat048(name, cls):
    items = {
        "010": (("SAC", 25), ("SIC", 201)),
        "140": (26473.875, "s"),
        # TYP 5 (Mode S roll-call), SPI: TYP SIM RDP SPI RAB in the 7 bits of the part.
        "020": ((5 << 4) | (1 << 1),),
        "040": (("RHO", (26.25, "NM")), ("THETA", (90.0, "°"))),
        "070": (0, 0, 0, 0, ("MODE3A", "5033")),
        "090": (0, 0, ("FL", (85.0, "FL"))),
        "130": {"SRL": (0.5, "°"), "SAM": (-60, "dBm")},
        "220": 0x4840D6,
        "240": "KLM1023 ",
        "250": [0x1122334455667788],
        "161": (0, ("TRN", 291)),
        "042": (("X", (-1.5, "NM")), ("Y", (2.25, "NM"))),
        "200": (("GSP", (450.0 / 3600.0, "NM/s")), ("HDG", (180.0, "°"))),
        # CNF 1 (tentative), RAD 2: CNF RAD DOU MAH CDM in the 7 bits of the part.
        "170": ((1 << 6) | (2 << 4),),
        "230": (("COM", 1), ("STAT", 0), ("SI", 0), 0, ("MSSC", 1), ("ARC", 1), ("AIC", 1), ("B1A", 0), ("B1B", 0)),
    }
    emit(48, name, block(cls, items), {
        "sac": 25, "sic": 201, "time_of_day": 3388656, "detection": "modes_rollcall",
        "range_nm": 26.25, "azimuth_deg": 90.0, "squawk": "5033", "flight_level": 85.0,
        "icao24": "4840d6", "callsign": "KLM1023", "track_number": 291,
        "x_nm": -1.5, "y_nm": 2.25, "gs_kt": 450.0, "track_deg": 180.0,
        "track_tentative": True, "track_ended": False,
    })


def cat034(name, cls):
    items = {
        "010": (("SAC", 1), ("SIC", 2)),
        "000": 2,
        "030": (2.0, "s"),
        "020": (90.0, "°"),
        "041": (4.5, "s"),
        "050": {"COM": (("NOGO", 1), ("RDPC", 0), ("RDPR", 0), ("OVLRDP", 0), ("OVLXMT", 0), ("MSC", 0), ("TSV", 0), 0)},
    }
    emit(34, name, block(cls, items), {
        "sac": 1, "sic": 2, "time_of_day": 256, "message": "sector_crossing",
        "sector_deg": 90.0, "rotation_period_s": 4.5, "nogo": True,
    })


def cat062(name, cls):
    items = {
        "010": (("SAC", 1), ("SIC", 100)),
        "015": 7,
        "070": (256.0, "s"),
        "105": (("LAT", (33.75, "°")), ("LON", (-69.25, "°"))),
        "185": (("VX", (50.0, "m/s")), ("VY", (0.0, "m/s"))),
        # The whole item as an integer: its spare bits differ between editions.
        "060": 0o1000,
        "380": {"ADR": 0x4840D6, "ID": "KLM1023 ", "MHG": (90.0, "°")},
        "040": 417,
        # Extended items as the 7-bit value of each part (FX added by libasterix): CNF
        # (bit 1 of the part) tentative; TSE (bit 6 of the second part) last message.
        "080": (0b0000001, 0b0100000),
        "290": {"TRK": (1.0, "s"), "PSR": (2.0, "s")},
        "136": (-25.0, "FL"),
    }
    emit(62, name, block(cls, items), {
        "sac": 1, "sic": 100, "time_of_day": 32768, "lat": 33.75, "lon": -69.25,
        "gs_kt": 97.192, "track_deg": 90.0, "squawk": "1000", "icao24": "4840d6",
        "callsign": "KLM1023", "track_number": 417, "track_tentative": True,
        "track_ended": True, "flight_level": -25.0,
    })


def cat021(name, cls):
    items = {
        "010": (("SAC", 2), ("SIC", 3)),
        # ATP 0 (24-bit address), ARC 1: ATP ARC RC RAB in the 7 bits of the part.
        "040": (1 << 2,),
        "161": (0, ("TRNUM", 77)),
        "130": (("LAT", (45.0, "°")), ("LON", (-45.0, "°"))),
        "131": (("LAT", (45.0, "°")), ("LON", (-45.0, "°"))),
        "080": 0xABCDEF,
        "073": (0.5, "s"),
        "140": (100.0, "ft"),
        # NUCr/NACv 1, NUCp/NIC 10; NICbaro 1, SIL 2, NACp 10.
        "090": ((1 << 4) | 10, (1 << 6) | (2 << 4) | 10),
        "145": (10.0, "FL"),
        "160": (0, ("GS", (64.0 / 16384.0, "NM/s")), ("TA", (45.0, "°"))),
        "170": "KLM1023 ",
        "020": 13,
    }
    emit(21, name, block(cls, items), {
        "sac": 2, "sic": 3, "time_of_day": 64, "lat": 45.0, "lon": -45.0,
        "icao24": "abcdef", "alt_geom_ft": 100.0, "nic": 10, "sil": 2, "nacp": 10,
        "flight_level": 10.0, "gs_kt": 14.0625, "track_deg": 45.0, "callsign": "KLM1023",
        "emitter_category": 13, "track_number": 77,
    })


def main():
    editions = {
        48: ["1_27", "1_28", "1_29", "1_30", "1_31", "1_32"],
        34: ["1_27", "1_28", "1_29"],
        62: ["1_16", "1_17", "1_18", "1_19", "1_20", "1_21"],
        21: ["2_1", "2_2", "2_3", "2_4", "2_5", "2_6", "2_7"],
    }
    writers = {48: cat048, 34: cat034, 62: cat062, 21: cat021}
    for cat, eds in editions.items():
        for ed in eds:
            cls = getattr(gen, "Cat_%03d_%s" % (cat, ed))
            try:
                writers[cat](ed.replace("_", "."), cls)
            except Exception as e:  # a spec change the script does not know
                print("cat %03d edition %s: %r" % (cat, ed, e), file=sys.stderr)
                sys.exit(1)


main()
