"""The seed topology as a process of its own, for the crash and failover tests
(test_streams_eos.py): ``python streams_eos_app.py '<json>'`` with bootstrap, application.id,
topics and extra streams settings. It prints its metrics as a JSON line every 100 ms and closes
cleanly on SIGTERM; the tests SIGKILL it to crash it."""

import json
import signal
import sys
import time

from polykafka.streams import KafkaStreams

import streams_seed as seed


def main():
    args = json.loads(sys.argv[1])
    conf = {"application.id": args["app"], "bootstrap.servers": args["bootstrap"]}
    conf.update(args.get("config", {}))
    streams = KafkaStreams(seed.build(args["topics"]), conf)
    # Why it stopped, for the test's failure message (the tests keep the lines that are not JSON).
    streams.set_uncaught_exception_handler(lambda e: print("stream thread failed: %s: %s" % (e.kind, e), flush=True))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    streams.start()
    while not stop:
        print(json.dumps(dict(streams.metrics(), state=streams.state().name)), flush=True)
        if streams.state().name == "ERROR":
            sys.exit(2)
        time.sleep(0.1)
    ok = streams.close(60)
    print(json.dumps(dict(streams.metrics(), state=streams.state().name, closed=ok)), flush=True)


if __name__ == "__main__":
    main()
