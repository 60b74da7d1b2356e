"""Prints the input and the expected results of bindings-python/tests/streams_seed.py as JSON,
for the Node streams test: the same generator and the same independent computation. The
module's DSL imports (polykafka.streams) are not needed for that and are stubbed."""

import json
import os
import sys
import types

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "bindings-python", "tests"))
stub = types.ModuleType("polykafka.streams")
for name in ("Serdes", "StreamsBuilder", "TimeWindowedSerde", "TimeWindows"):
    setattr(stub, name, None)
sys.modules.setdefault("polykafka", types.ModuleType("polykafka"))
sys.modules["polykafka.streams"] = stub

import streams_seed as seed  # noqa: E402

n_events, n_users, minutes, n_orders, partitions = (int(a) for a in sys.argv[1:6])
events = seed.generate(n_events, n_users, minutes)
orders = seed.orders_for(n_orders)
exp = seed.expected(events, orders, partitions)
print(json.dumps({
    "events": [[u, ev, ts] for u, ev, ts in events],
    "orders": [[c, o] for c, o in orders],
    "windowMs": int(seed.WINDOW.total_seconds() * 1000),
    "graceMs": int(seed.GRACE.total_seconds() * 1000),
    "countries": seed.COUNTRIES,
    "expected": {
        "notifications": [[json.loads(k), n] for k, n in exp["notifications"].items()],
        "byCountry": exp["by_country"],
        "windowed": [[u, start, n] for (u, start), n in exp["windowed"].items()],
        "late": exp["late"],
        "enriched": exp["enriched"],
    },
}))
