"""Signals other apps (notifications) listen to; sent after commit."""

from django.dispatch import Signal

# Devices that were online and fell silent past their grace time (`device_ids`, `at`).
devices_went_offline = Signal()
# A device exchanged an enrolment code for a token (`device`): it starts with empty storage, so whatever it was
# sent before (a current alert) must reach it again. Sent after commit.
device_enrolled = Signal()
