"""A checkout job traced by hand: one span per kind of tag value a v3 user may pass to set_tag.

Test client of the end-to-end suite (Tests/e2e): run with ddtrace 3.19.9 against an agent URL.
Tags that dd-trace-py v3 turns into str(value) in meta (and v4's typed API rejects) are the ones
listed in EXPECTED_REPR_KEYS; the struct tag is EXPECTED_STRUCT_KEY (seen on v0.4 only).
Prints one JSON line with what it did, for the tests to compare against.
"""
import json
import math
import sys

SERVICE = "checkout-worker"

# key -> what the tracer puts on the wire (meta: str(value); metrics: number)
EXPECTED_REPR_KEYS = {
    "order.paid": "True",             # bool via set_tag
    "order.gift": "False",            # bool via set_tag
    "coupon.code": "None",            # None via set_tag
    "cart.sku_list": "['A-1', 'B-2']",  # list
    "cart.dims": "(3, 4)",            # tuple
    "cart.tags": "{'red'}",           # set
    "cart.summary": "{'items': 2}",   # dict
    "payment.token": "b'\\x00tok'",   # bytes
    "payment.gateway": "<object at>", # default object repr (<__main__.Gateway object at 0x...>)
    "payment.method": "<Card visa>",  # custom __repr__
    "shipping.express": "True",       # bool via set_tags
}
# Numbers under user keys: indistinguishable from set_metric on the wire (V4-TAG-NUMERIC, once per key).
EXPECTED_NUMERIC_KEYS = ["order.total", "order.items", "order.weight", "shipping.parcels"]
NOT_REPR_KEYS = ["order.id", "order.total", "order.items", "order.big_id", "order.json", "order.channel",
                 "order.region", "order.weight", "order.nan"]
EXPECTED_STRUCT_KEY = "checkout.fraud"
SPAN_NAMES = ["checkout.run", "checkout.validate", "checkout.cart", "checkout.pay", "checkout.ship",
              "checkout.fraud", "checkout.notify"]


class Gateway:  # default repr: <__main__.Gateway object at 0x...>
    pass


class Card:
    def __repr__(self):
        return "<Card visa>"


def main():
    from ddtrace.trace import tracer  # here, so that the tests can read the constants above without ddtrace

    with tracer.trace("checkout.run", service=SERVICE, resource="nightly-batch", span_type="worker") as root:
        root.set_tag("order.id", "ord-1001")               # str: fine in v4
        with tracer.trace("checkout.validate", resource="validate") as s:
            s.set_tag("order.total", 42)                    # int -> metrics
            s.set_tag("order.items", 2.5)                   # float -> metrics
            s.set_tag("order.big_id", 2**60)                # beyond 2^53 -> meta digits, not a repr
            s.set_tag("order.json", '{"a": 1}')             # a JSON document on purpose: not a repr
            s.set_tag("order.nan", math.nan)                # dropped by the tracer
            s.set_tag("order.paid", True)
            s.set_tag("order.gift", False)
            s.set_tag("coupon.code", None)
        with tracer.trace("checkout.cart", resource="cart") as s:
            s.set_tag("cart.sku_list", ["A-1", "B-2"])
            s.set_tag("cart.dims", (3, 4))
            s.set_tag("cart.tags", {"red"})
            s.set_tag("cart.summary", {"items": 2})
        with tracer.trace("checkout.pay", resource="charge", span_type="http") as s:
            s.set_tag("payment.token", b"\x00tok")
            s.set_tag("payment.gateway", Gateway())
            s.set_tag("payment.method", Card())
            s.set_tag_str("order.channel", "web")
            s.set_metric("order.weight", 1.75)
        with tracer.trace("checkout.ship", resource="ship") as s:
            s.set_tags({"shipping.express": True, "order.region": "eu", "shipping.parcels": 3})
        with tracer.trace("checkout.fraud", resource="score") as s:
            setter = getattr(s, "set_struct_tag", None) or getattr(s, "_set_struct_tag")
            setter(EXPECTED_STRUCT_KEY, {"score": 0.12, "rules": ["velocity", "geo"], "ok": True})
        try:
            with tracer.trace("checkout.notify", resource="email"):
                raise TimeoutError("smtp timed out")
        except TimeoutError:
            pass
    tracer.flush()
    tracer.shutdown()
    print(json.dumps({"app": "tagged_checkout", "service": SERVICE, "spans": len(SPAN_NAMES),
                      "repr_keys": sorted(EXPECTED_REPR_KEYS), "struct_key": EXPECTED_STRUCT_KEY}))


if __name__ == "__main__":
    main()
    sys.exit(0)
