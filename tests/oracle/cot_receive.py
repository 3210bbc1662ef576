#!/usr/bin/env python3
"""Receives skyfence's Cursor-on-Target on loopback and checks it with TAK-ecosystem code.

Run by crates/skyfence/tests/cot.rs. Listens on 127.0.0.1 only: one UDP socket (a TAK
client's situational-awareness input) and one TCP listener (a TAK server's plain
streaming input). With --taky-port it also connects, as a TAK client, to a taky TAK
server on 127.0.0.1 and reads what that server relays (transport "taky"). Prints one
JSON line with its ports, then one JSON line per event received, until it has
--udp-count events over UDP and --tcp-count over TCP (or via taky), or --timeout
seconds have passed. Exit status 0 only if every event passed every check:

- the XML Schema of the CoT base event (tests/oracle/cot-event.xsd, with `xmlschema`);
- taky's CoT parser (taky is a TAK server; its TCP stream reader, XMLDeclStrip over
  lxml's pull parser, and its Event.from_elm unmarshaller, as its server uses them);
- takproto's xml2proto / parse_proto (the TAK protocol buffers that ATAK and TAK
  Server speak, version 1), which maps the base event and the <contact> and <track>
  details to typed fields.

Each output line holds the fields as the parsers read them, for the Rust test to
assert on.
"""

import argparse
import json
import select
import socket
import sys
import time

import takproto
import xmlschema
from lxml import etree
from taky.cot import models
from taky.util.xmldeclstrip import XMLDeclStrip


def check_event(raw: bytes, elm, schema, transport: str) -> dict:
    """All checks of one event; returns what the parsers read (raises on failure)."""
    text = raw.decode("utf-8")
    schema.validate(text)
    evt = models.Event.from_elm(elm)
    if not evt.uid or not evt.etype or evt.point is None:
        raise ValueError(f"taky read no uid, type or point from {text!r}")
    proto = takproto.parse_proto(takproto.xml2proto(text))
    if proto is None:
        raise ValueError(f"takproto could not parse its own encoding of {text!r}")
    cot = proto.cotEvent
    if cot.uid != evt.uid or cot.type != evt.etype:
        raise ValueError(f"taky and takproto disagree: {evt.uid}/{evt.etype} vs {cot.uid}/{cot.type}")
    detail = elm.find("detail")
    sky = detail.find("skyfence") if detail is not None else None
    remarks = detail.find("remarks") if detail is not None else None
    return {
        "transport": transport,
        "uid": evt.uid,
        "type": evt.etype,
        "how": evt.how,
        "version": elm.get("version"),
        "time": elm.get("time"),
        "stale": elm.get("stale"),
        "stale_after_time_s": (evt.stale - evt.time).total_seconds(),
        "lat": evt.point.lat,
        "lon": evt.point.lon,
        "hae": evt.point.hae,
        "ce": evt.point.ce,
        "le": evt.point.le,
        "proto": {
            "uid": cot.uid,
            "type": cot.type,
            "how": cot.how,
            "lat": cot.lat,
            "lon": cot.lon,
            "hae": cot.hae,
            "ce": cot.ce,
            "le": cot.le,
            "send_time_ms": cot.sendTime,
            "stale_time_ms": cot.staleTime,
            "callsign": cot.detail.contact.callsign,
            "course": cot.detail.track.course,
            "speed": cot.detail.track.speed,
        },
        "remarks": remarks.text if remarks is not None else None,
        "skyfence": dict(sky.attrib) if sky is not None else None,
        "schema": "valid",
    }


class TcpPeer:
    """One TCP connection, parsed as a TAK server does (taky's TAKClient.feed)."""

    def __init__(self, conn):
        self.conn = conn
        parser = etree.XMLPullParser(tag="event", resolve_entities=False)
        parser.feed(b"<root>")
        self.xdc = XMLDeclStrip(parser)
        self.raw = b""

    def feed(self, data: bytes):
        """Yields (raw bytes, element) for each complete event."""
        self.raw += data
        self.xdc.feed(data)
        for _, elm in self.xdc.read_events():
            # The raw text of this event: up to its closing tag (skyfence writes no
            # declarations on TCP, so events follow one another directly).
            end = self.raw.find(b"</event>")
            chunk, self.raw = self.raw[: end + 8], self.raw[end + 8 :]
            yield chunk.strip(), elm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xsd", required=True)
    ap.add_argument("--udp-count", type=int, default=1)
    ap.add_argument("--tcp-count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--taky-port", type=int, default=None,
                    help="also read what the taky server on 127.0.0.1:PORT relays")
    args = ap.parse_args()
    schema = xmlschema.XMLSchema(args.xsd)

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(4)
    print(json.dumps({"udp": udp.getsockname()[1], "tcp": tcp.getsockname()[1]}), flush=True)

    peers = {}
    labels = {}
    got = {"udp": 0, "tcp": 0, "taky": 0}
    if args.taky_port is not None:
        # taky may still be starting: try for a while.
        until = time.monotonic() + 30
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", args.taky_port), timeout=2)
                break
            except OSError:
                if time.monotonic() > until:
                    raise
                time.sleep(0.2)
        conn.settimeout(None)
        peers[conn] = TcpPeer(conn)
        labels[conn] = "taky"
        print(json.dumps({"taky": "connected"}), flush=True)
    failures = 0
    deadline = time.monotonic() + args.timeout
    while (got["udp"] < args.udp_count or got["tcp"] + got["taky"] < args.tcp_count) and time.monotonic() < deadline:
        ready, _, _ = select.select([udp, tcp, *peers.keys()], [], [], 0.5)
        for s in ready:
            found = []
            if s is udp:
                data, _ = udp.recvfrom(65536)
                try:
                    found.append(("udp", data, etree.fromstring(data)))
                except etree.XMLSyntaxError as e:
                    print(json.dumps({"transport": "udp", "error": f"not XML: {e}"}), flush=True)
                    failures += 1
            elif s is tcp:
                conn, _ = tcp.accept()
                peers[conn] = TcpPeer(conn)
            else:
                data = s.recv(65536)
                if not data:
                    del peers[s]
                    s.close()
                    continue
                label = labels.get(s, "tcp")
                found.extend((label, raw, elm) for raw, elm in peers[s].feed(data))
            for transport, raw, elm in found:
                try:
                    line = check_event(raw, elm, schema, transport)
                    got[transport] += 1
                except Exception as e:  # every failure is reported, none is fatal
                    line = {"transport": transport, "error": f"{type(e).__name__}: {e}",
                            "xml": raw.decode("utf-8", "replace")}
                    failures += 1
                print(json.dumps(line), flush=True)
    summary = {"summary": True, **got, "failures": failures}
    print(json.dumps(summary), flush=True)
    if failures or got["udp"] < args.udp_count or got["tcp"] + got["taky"] < args.tcp_count:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
