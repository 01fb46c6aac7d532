#!/usr/bin/env python3
"""Writes a ~5 MB ddtrace-like v0.4 payload in the fixture layout:
OUT/000-POST-v0.4_traces.msgpack + .headers.json (what `trace-replay` reads).

Django-shaped traces of 6 spans (request root, middleware, view, cache, 2 sqlite queries) as
dd-trace-py 3.x writes them: 64-bit ids, ns times, `error`/`type` left out when 0/empty, integral
metrics as ints. A fixed seed, so every run sends the same bytes. No third-party modules."""
import json
import os
import random
import struct
import sys


def pack(obj, out):
    if obj is None:
        out.append(0xC0)
    elif obj is True or obj is False:
        out.append(0xC3 if obj else 0xC2)
    elif isinstance(obj, int):
        if 0 <= obj < 0x80:
            out.append(obj)
        elif -32 <= obj < 0:
            out += struct.pack(">b", obj)
        elif 0 <= obj <= 0xFF:
            out += b"\xcc" + struct.pack(">B", obj)
        elif 0 <= obj <= 0xFFFF:
            out += b"\xcd" + struct.pack(">H", obj)
        elif 0 <= obj <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", obj)
        elif obj >= 0:
            out += b"\xcf" + struct.pack(">Q", obj)
        else:
            out += b"\xd3" + struct.pack(">q", obj)
    elif isinstance(obj, float):
        out += b"\xcb" + struct.pack(">d", obj)
    elif isinstance(obj, str):
        raw = obj.encode()
        n = len(raw)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += b"\xd9" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += raw
    elif isinstance(obj, (list, tuple)):
        n = len(obj)
        out += bytes([0x90 | n]) if n < 16 else (b"\xdc" + struct.pack(">H", n) if n <= 0xFFFF else b"\xdd" + struct.pack(">I", n))
        for item in obj:
            pack(item, out)
    elif isinstance(obj, dict):
        n = len(obj)
        out += bytes([0x80 | n]) if n < 16 else (b"\xde" + struct.pack(">H", n) if n <= 0xFFFF else b"\xdf" + struct.pack(">I", n))
        for key, value in obj.items():
            pack(key, out)
            pack(value, out)
    else:
        raise TypeError(type(obj))


def span(rng, trace_id, parent, start, name, resource, stype, meta, metrics, error=0):
    s = {"trace_id": trace_id, "span_id": rng.getrandbits(64), "parent_id": parent, "service": "shop",
         "resource": resource, "name": name, "start": start, "duration": rng.randint(20_000, 40_000_000)}
    if error:
        s["error"] = 1
    if stype:
        s["type"] = stype
    s["meta"] = meta
    s["metrics"] = metrics
    return s


def trace(rng, i):
    trace_id = rng.getrandbits(64)
    start = 1_764_000_000_000_000_000 + i * 1_000_000
    path = f"/shop/items/{rng.randint(1, 5000)}/"
    root = span(rng, trace_id, 0, start, "django.request", "GET shop.views.item", "web", {
        "_dd.p.dm": "-0", "_dd.p.tid": f"{rng.getrandbits(32):08x}00000000", "component": "django",
        "django.request.class": "django.core.handlers.wsgi.WSGIRequest", "django.response.class": "django.http.response.HttpResponse",
        "django.view": "shop.views.item", "http.method": "GET", "http.route": "shop/items/<int:item_id>/",
        "http.status_code": "200", "http.url": f"http://127.0.0.1:8000{path}", "http.useragent": "python-requests/2.32.3",
        "language": "python", "runtime-id": "6b9d1c2f4e5a4b7c8d9e0f1a2b3c4d5e", "span.kind": "server",
    }, {"_dd.measured": 1, "_dd.top_level": 1, "_dd.tracer_kr": 1.0, "_sampling_priority_v1": 1, "process_id": 4242})
    spans = [root]
    parent = root["span_id"]
    for name, resource, stype, meta, metrics in [
        ("django.middleware", "django.contrib.sessions.middleware.SessionMiddleware.__call__", "",
         {"component": "django", "_dd.base_service": "shop"}, {}),
        ("django.view", "shop.views.item", "", {"component": "django", "django.view": "shop.views.item"}, {"_dd.measured": 1}),
        ("django.cache", "django.core.cache.backends.locmem.get", "cache",
         {"component": "django", "django.cache.backend": "django.core.cache.backends.locmem.LocMemCache",
          "django.cache.key": f"item:{rng.randint(1, 5000)}", "span.kind": "client"}, {"db.row_count": rng.randint(0, 1)}),
        ("sqlite.query", "SELECT \"shop_item\".\"id\", \"shop_item\".\"name\", \"shop_item\".\"price\" FROM \"shop_item\" WHERE \"shop_item\".\"id\" = %s LIMIT 21",
         "sql", {"component": "sqlite", "db.system": "sqlite", "db.name": "db.sqlite3", "span.kind": "client",
                 "db.user": "shop", "out.host": "localhost", "sql.query.kind": "select", "_dd.base_service": "shop",
                 "django.db.alias": "default", "django.db.vendor": "sqlite"}, {"db.row_count": 1, "_dd.measured": 1, "network.destination.port": 0, "_dd.agent_psr": 1.0}),
        ("sqlite.query", "SELECT \"shop_review\".\"id\", \"shop_review\".\"stars\" FROM \"shop_review\" WHERE \"shop_review\".\"item_id\" = %s",
         "sql", {"component": "sqlite", "db.system": "sqlite", "db.name": "db.sqlite3", "span.kind": "client",
                 "db.user": "shop", "out.host": "localhost", "sql.query.kind": "select", "_dd.base_service": "shop",
                 "django.db.alias": "default", "django.db.vendor": "sqlite"}, {"db.row_count": rng.randint(0, 30), "_dd.measured": 1, "network.destination.port": 0, "_dd.agent_psr": 1.0}),
    ]:
        spans.append(span(rng, trace_id, parent, start + rng.randint(1000, 900_000), name, resource, stype, meta, metrics))
    return spans


def main():
    out_dir = sys.argv[1]
    target = int(sys.argv[2]) if len(sys.argv) > 2 else 5 * 1024 * 1024
    rng = random.Random(6)
    traces = []
    body = bytearray()
    # Grow until the payload reaches the target size (re-encode at the end: the array header changes).
    size = 0
    while size < target:
        t = trace(rng, len(traces))
        traces.append(t)
        piece = bytearray()
        pack(t, piece)
        size += len(piece)
    pack(traces, body)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "000-POST-v0.4_traces.msgpack"), "wb") as f:
        f.write(body)
    headers = {"method": "POST", "path": "/v0.4/traces", "headers": {
        "content-type": "application/msgpack", "x-datadog-trace-count": str(len(traces)),
        "datadog-meta-lang": "python", "datadog-meta-lang-version": "3.11.7", "datadog-meta-lang-interpreter": "CPython",
        "datadog-meta-tracer-version": "3.19.9", "datadog-client-computed-top-level": "true",
        "datadog-send-real-http-status": "1", "user-agent": "ddtrace/3.19.9"}}
    with open(os.path.join(out_dir, "000-POST-v0.4_traces.headers.json"), "w") as f:
        json.dump(headers, f, indent=1)
    print(f"{len(body)} bytes, {len(traces)} traces, {sum(len(t) for t in traces)} spans")


if __name__ == "__main__":
    main()
