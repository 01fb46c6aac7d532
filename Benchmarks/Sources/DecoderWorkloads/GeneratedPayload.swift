import MessagePack
import SeededRandom

/// A deterministic, realistic v0.4 payload of 30,000 spans and about 10 MB, built in memory.
///
/// Shaped like what dd-trace-py 3.x sends for a Django service: traces of 6 spans (one
/// `django.request` root with the request tags, then middleware, view, cache and database children),
/// ~10 `meta` and ~4 `metrics` entries per span, 64-bit ids, nanosecond timestamps. The same seed
/// gives the same bytes on every machine, so results compare across runs.
public enum GeneratedPayload {
    public static let spanCount = 30_000
    public static let spansPerTrace = 6

    /// The payload bytes (`[[span map, …], …]`).
    public static func v04() -> [UInt8] {
        var w = MessagePackWriter(capacity: 10_700_000)
        var rng = SplitMix64(seed: 0x7472_6163_6563_6f6d)  // "tracecom"
        let traceCount = spanCount / spansPerTrace
        w.writeArrayHeader(traceCount)
        let start0: UInt64 = 1_795_575_858_000_000_000
        for t in 0..<traceCount {
            let traceID = rng.next()
            let rootID = rng.next()
            let tid = String(0x6b06_5032 + UInt32(t % 4096), radix: 16) + "00000000"
            let traceStart = start0 + UInt64(t) * 3_000_000 + rng.next() % 1_000_000
            let route = routes[t % routes.count]
            w.writeArrayHeader(spansPerTrace)
            for s in 0..<spansPerTrace {
                let kind = s == 0 ? 0 : 1 + (s - 1) % 4
                let isRoot = s == 0
                let spanID = isRoot ? rootID : rng.next()
                let duration = isRoot ? 2_000_000 + rng.next() % 8_000_000 : 20_000 + rng.next() % 900_000
                let start = traceStart + (isRoot ? 0 : UInt64(s) * 150_000 + rng.next() % 100_000)
                let (service, name, type) = shapes[kind]
                let resource: String
                switch kind {
                case 0, 2: resource = route.resource
                case 3: resource = "django.core.cache.backends.locmem.get"
                case 4: resource = route.sql
                default: resource = "django.middleware.common.CommonMiddleware.__call__"
                }
                // Root and service-entry (sqlite) spans carry the top-level tags; children of the
                // same service only env/version and their integration's tags, as dd-trace-py does.
                let topLevel = isRoot || kind == 4
                var meta: [(String, String)] = [("env", "staging"), ("version", "2.1")]
                if topLevel { meta += [("_dd.p.dm", "-0"), ("language", "python")] }
                switch kind {
                case 0:
                    meta += [
                        ("runtime-id", "f3dae664e9aa4eb297f246085503ebe3"), ("_dd.p.tid", tid),
                        ("component", "django"), ("span.kind", "server"), ("http.method", route.method),
                        ("http.url", "http://shop.local" + route.path),
                        ("http.status_code", String(route.status)), ("http.route", route.resource.split(separator: " ")[1].description),
                    ]
                case 4:
                    meta += [
                        ("component", "sqlite"), ("span.kind", "client"), ("db.system", "sqlite"),
                        ("_dd.base_service", "shop"), ("db.name", "default"), ("out.host", "localhost"),
                    ]
                case 3:
                    meta += [
                        ("component", "django"), ("django.cache.backend", "locmem"),
                        ("django.cache.key", "product:\(rng.next() % 10_000)"), ("_dd.base_service", "shop"),
                    ]
                case 2:
                    meta += [("component", "django"), ("django.view", route.view)]
                default:
                    meta += [("component", "django")]
                }
                var metrics: [(String, Double)] = [("_dd.measured", 1)]
                if isRoot {
                    metrics += [("_dd.top_level", 1), ("_sampling_priority_v1", 1), ("_dd.tracer_kr", 1), ("process_id", 5760)]
                } else if kind == 4 {
                    metrics += [("db.row_count", Double(rng.next() % 50)), ("_dd.top_level", 1), ("process_id", 5760)]
                } else {
                    metrics += [("_dd.agent_psr", 1), ("cpu.ratio", Double(rng.next() % 1000) / 1000 + 0.0005)]
                }

                // Like dd-trace-py, `error` only when set and `type` only when known.
                let isError = isRoot && route.status >= 500
                w.writeMapHeader(9 + (isRoot ? 0 : 1) + (isError ? 1 : 0) + (type.isEmpty ? 0 : 1))
                w.writeString("service"); w.writeString(service)
                w.writeString("name"); w.writeString(name)
                w.writeString("resource"); w.writeString(resource)
                w.writeString("trace_id"); w.write(traceID)
                w.writeString("span_id"); w.write(spanID)
                if !isRoot { w.writeString("parent_id"); w.write(rootID) }
                w.writeString("start"); w.write(start)
                w.writeString("duration"); w.write(duration)
                if isError { w.writeString("error"); w.write(1) }
                if !type.isEmpty { w.writeString("type"); w.writeString(type) }
                w.writeString("meta"); w.writeMapHeader(meta.count)
                for (k, v) in meta { w.writeString(k); w.writeString(v) }
                w.writeString("metrics"); w.writeMapHeader(metrics.count)
                // Integral metrics as ints, as the legacy Python writer sends them; the rest as float64.
                for (k, v) in metrics { w.writeString(k); if v >= 0, Double(UInt64(v)) == v { w.write(UInt64(v)) } else { w.write(v) } }
            }
        }
        return w.bytes
    }

    static let shapes: [(service: String, name: String, type: String)] = [
        ("shop", "django.request", "web"),
        ("shop", "django.middleware", ""),
        ("shop", "django.view", ""),
        ("shop", "django.cache", "cache"),
        ("sqlite", "sqlite.query", "sql"),
    ]

    struct Route {
        var method: String, path: String, resource: String, view: String, sql: String, status: Int
    }

    static let routes: [Route] = [
        Route(method: "GET", path: "/products/42", resource: "GET shop/products/<int:pk>", view: "shop.views.product_detail",
              sql: "SELECT id, name, price FROM shop_product WHERE id = ?", status: 200),
        Route(method: "GET", path: "/products", resource: "GET shop/products", view: "shop.views.product_list",
              sql: "SELECT id, name, price FROM shop_product ORDER BY name LIMIT 21", status: 200),
        Route(method: "POST", path: "/cart", resource: "POST shop/cart", view: "shop.views.cart_add",
              sql: "INSERT INTO shop_cartitem (cart_id, product_id, qty) VALUES (?, ?, ?)", status: 201),
        Route(method: "GET", path: "/checkout", resource: "GET shop/checkout", view: "shop.views.checkout",
              sql: "SELECT SUM(qty * price) FROM shop_cartitem JOIN shop_product", status: 500),
    ]
}

