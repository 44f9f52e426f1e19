"""Helpers of the emergency alerts benchmark (`bench/alerts_bench.py`): database set-up, simulated devices, and
the Mosquitto reference (a minimal MQTT 3.1.1 client over asyncio)."""
