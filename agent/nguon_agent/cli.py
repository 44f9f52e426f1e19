"""Command line: `nguon-agent run` (one receiver), `nguon-agent simulate` (a fleet), `nguon-agent status`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from nguon_agent import __version__
from nguon_agent.clock import make_clock, parse_time

EXIT_ENROLMENT = 2
EXIT_REBOOT = 75


def _add_clock(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="device seconds per real second (simulations and tests; default 1 = real time)",
    )
    parser.add_argument("--start-at", help="start the device clock at this UTC time (ISO 8601; simulations)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nguon-agent", description="Nguồn reference receiver and fleet simulator")
    parser.add_argument("--version", action="version", version=f"nguon-agent {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("NGUON_AGENT_LOG", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one receiver")
    run.add_argument("--server", required=True, help="server base URL, e.g. https://nguon.example.gov.vn")
    run.add_argument("--state", required=True, type=Path, help="state directory (credentials, cache, journal)")
    run.add_argument("--code", help="one-time enrolment code (used only when the state holds no token)")
    run.add_argument("--sink", choices=["silent", "ffplay", "mpv"], default="silent")
    run.add_argument("--no-sse", action="store_true", help="do not hold the event stream: poll the manifest")
    run.add_argument(
        "--ca-file",
        type=Path,
        help="trust the server certificate(s) in this PEM file (a private CA or a self-signed trial) for https",
    )
    run.add_argument("--model", default="nguon-agent", help="hardware model sent at enrolment")
    run.add_argument("--serial", default="", help="hardware serial sent at enrolment")
    run.add_argument("--no-fsync", action="store_true", help="do not fsync the journal (tests)")
    run.add_argument(
        "--on-reboot",
        choices=["exec", "exit"],
        default="exec",
        help=f"what a `reboot` command does: re-execute the agent, or exit {EXIT_REBOOT} for a supervisor",
    )
    _add_clock(run)

    sim = commands.add_parser("simulate", help="run N simulated devices in one process")
    sim.add_argument("--server", required=True)
    sim.add_argument("--devices", type=int, required=True)
    source = sim.add_mutually_exclusive_group(required=True)
    source.add_argument("--codes", type=Path, help="file of enrolment codes, one a line")
    source.add_argument(
        "--tokens", type=Path, help='file of tokens: JSON lines {"token","public_key","device"} or "token [key [code]]"'
    )
    sim.add_argument("--skip", type=int, default=0, help="skip this many devices of the file (run several processes)")
    sim.add_argument("--public-key", help="server public key for token lines that carry none")
    sim.add_argument("--save-tokens", type=Path, help="after the run, write the tokens used (JSON lines)")
    sim.add_argument("--no-media", action="store_true", help="do not download media (play silently regardless)")
    sim.add_argument("--no-play", action="store_true", help="do not follow the schedule at all")
    sim.add_argument(
        "--no-sse", action="store_true", help="hold no event streams: poll the manifest and alerts (protocol §4.3)"
    )
    sim.add_argument("--stats-file", type=Path, help="JSON lines: receive time of every event and manifest version")
    sim.add_argument("--duration", type=float, help="stop after this many seconds (default: until SIGINT)")
    sim.add_argument("--progress", type=float, help="print stats to stderr every this many seconds")
    sim.add_argument("--ramp", type=float, default=1000.0, help="devices started per second (default 1000)")
    sim.add_argument("--backoff-max", type=float, default=60.0, help="reconnect back-off ceiling, seconds")
    _add_clock(sim)

    status = commands.add_parser("status", help="print what a state directory holds")
    status.add_argument("--state", required=True, type=Path)
    return parser


def _runner():
    """An asyncio runner on uvloop when it is installed (optional, faster), else the standard loop."""
    try:
        import uvloop  # noqa: PLC0415

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        return asyncio.Runner()


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    with _runner() as runner:
        return runner.run(coro)


def _clock(args):
    start_at = None
    if args.start_at:
        start_at = parse_time(args.start_at)
        if start_at is None:
            raise SystemExit("--start-at: not an ISO 8601 time")
    return make_clock(args.time_scale, start_at)


async def _run_agent(args) -> str:
    from nguon_agent.agent import Agent, AgentOptions, make_hardware  # noqa: PLC0415
    from nguon_agent.sinks import make_sink  # noqa: PLC0415
    from nguon_agent.store import DiskStore  # noqa: PLC0415

    clock = _clock(args)
    store = DiskStore(args.state, fsync=not args.no_fsync)
    options = AgentOptions(sse=not args.no_sse, hardware=make_hardware(args.model, args.serial))
    session = None
    if args.ca_file:
        import ssl  # noqa: PLC0415

        import aiohttp  # noqa: PLC0415

        if not args.ca_file.is_file():
            raise SystemExit(f"--ca-file: {args.ca_file} is not a file")
        # Verified against this file instead of the system's CAs; host names are still checked.
        context = ssl.create_default_context(cafile=str(args.ca_file))
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8, ssl=context))
    agent = Agent(
        args.server, store, clock=clock, sink=make_sink(args.sink, clock), code=args.code, options=options,
        session=session,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, agent.stop)
    try:
        return await agent.run()
    finally:
        if session is not None:
            await session.close()


def cmd_run(args) -> int:
    from nguon_agent.agent import EnrolmentError  # noqa: PLC0415

    try:
        reason = _run(_run_agent(args))
    except EnrolmentError as exc:
        logging.getLogger("nguon_agent").error("%s", exc)
        return EXIT_ENROLMENT
    if reason == "reboot":
        if args.on_reboot == "exit":
            return EXIT_REBOOT
        argv = [sys.executable, "-m", "nguon_agent", *sys.argv[1:]]
        logging.getLogger("nguon_agent").info("rebooting: %s", " ".join(argv[:3]))
        os.execv(sys.executable, argv)  # noqa: S606 - restarting ourselves with the same arguments
    return 0


def cmd_simulate(args) -> int:
    from nguon_agent.simulate import Fleet, read_codes, read_tokens, run_fleet, save_tokens  # noqa: PLC0415

    entries = read_codes(args.codes) if args.codes else read_tokens(args.tokens, args.public_key)
    entries = entries[args.skip :]
    if len(entries) < args.devices:
        raise SystemExit(f"only {len(entries)} devices in the file after --skip, {args.devices} asked for")
    fleet = Fleet(
        args.server,
        entries[: args.devices],
        _clock(args),
        media=not args.no_media,
        play=not args.no_play,
        sse=not args.no_sse,
        stats_file=args.stats_file,
        ramp=args.ramp,
        backoff_max=args.backoff_max,
    )
    _run(run_fleet(fleet, duration=args.duration, progress=args.progress))
    if args.save_tokens:
        save_tokens(fleet, args.save_tokens)
    return 0


def cmd_status(args) -> int:
    from nguon_agent.store import DiskStore  # noqa: PLC0415

    store = DiskStore(args.state, fsync=False)
    credentials = store.load_credentials()
    manifest = store.load_manifest()
    out: dict[str, Any] = {
        "enrolled": credentials is not None,
        "device": credentials.device if credentials else None,
        "server": credentials.server if credentials else None,
        "manifest_version": manifest[1].get("version") if manifest else None,
        "media_files": sum(1 for p in store.media_dir.iterdir() if not p.name.endswith(".part")),
        "reports_pending": len(store.journal),
        "last_seq": store.journal.last_seq,
        "acked_seq": store.journal.acked_seq,
        "last_event_id": store.last_event_id,
        "alerts_handled": sorted(store.alerts),
    }
    store.close()
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if args.command == "run":
        return cmd_run(args)
    if args.command == "simulate":
        return cmd_simulate(args)
    return cmd_status(args)
