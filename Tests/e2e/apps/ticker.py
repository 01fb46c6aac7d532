"""A long-running job: one small trace every TICK_SECONDS for TICK_COUNT ticks, each with one
non-string tag (a V4-TAG-REPR finding per trace). Used to restart the proxy while it sends.

Test client of the end-to-end suite (Tests/e2e). Prints one JSON line: how many traces it made."""
import json
import os
import sys
import time

SERVICE = "ticker"
REPR_KEY = "tick.ok"


def main():
    from ddtrace.trace import tracer  # here, so that the tests can read the constants above without ddtrace

    count = int(os.environ.get("TICK_COUNT", "60"))
    pause = float(os.environ.get("TICK_SECONDS", "0.1"))
    for i in range(count):
        with tracer.trace("tick", service=SERVICE, resource=f"tick-{i % 3}") as span:
            span.set_tag(REPR_KEY, True)
            span.set_tag("tick.n", str(i))
        tracer.flush()
        time.sleep(pause)
    tracer.flush()
    tracer.shutdown()
    print(json.dumps({"app": "ticker", "traces": count}))


if __name__ == "__main__":
    main()
    sys.exit(0)
