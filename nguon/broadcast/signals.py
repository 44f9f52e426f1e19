"""Signals other apps (notifications) listen to; sent after commit."""

from django.dispatch import Signal

# Devices that were online and fell silent past their grace time (`device_ids`, `at`).
devices_went_offline = Signal()
