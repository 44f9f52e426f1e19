"""Helpers of the device gateway benchmark (`bench/devices_bench.py`): database set-up, servers, load clients."""
