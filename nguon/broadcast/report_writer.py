"""The gateway's report writer process: `python -m nguon.broadcast.report_writer`, started by the intake.

It reads messages from stdin and answers on stdout, each a 4-byte big-endian length and a pickle (both ends are the
same code, started by the gateway: nothing else writes to the pipe):
- ("write", [Batch, …]) → [(failure or None, (stored, duplicates, device_gone)), …], one group commit;
- ("jobs", [(function, args), …]) → None, once they ran, each in a transaction of its own.
It says READY once Django is set up, and ends at the end of its input (the gateway stopped or died).
"""

from __future__ import annotations

import os
import pickle
import struct
import sys

READY = "ready"
_LENGTH = struct.Struct(">I")


def send(stream, message) -> None:
    send_bytes(stream, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def send_bytes(stream, data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the other end closed the pipe")
    return data


def receive(stream):
    (size,) = _LENGTH.unpack(_read(stream, _LENGTH.size))
    return pickle.loads(_read(stream, size))  # noqa: S301 (our own process at the other end of a private pipe)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")
    import django

    django.setup()
    from nguon.broadcast.gateway.intake import run_job, write_group

    source, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed goes to the log, not into the pipe
    send(answers, READY)
    while True:
        try:
            kind, payload = receive(source)
        except EOFError:
            return 0
        if kind == "write":
            failures = write_group(payload)
            send(
                answers, [(f, (b.stored, b.duplicates, b.device_gone)) for f, b in zip(failures, payload, strict=True)]
            )
        else:
            for function, args in payload:
                run_job(function, args)
            send(answers, None)


if __name__ == "__main__":
    sys.exit(main())
