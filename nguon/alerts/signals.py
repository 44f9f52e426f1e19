"""Signals other apps (notifications) listen to. All are sent after commit, with `alert` and `actor`."""

from django.dispatch import Signal

# A new alert waits for approval (composed, imported or received from a trusted sender).
alert_pending = Signal()
# An alert was issued: its events are on their way to devices.
alert_issued = Signal()
# An approver refused an alert (`comment` says why).
alert_rejected = Signal()
# An alert still awaiting approval was taken out of the queue by a later Cancel or Update (`reason` says why,
# `by` is the alert that withdrew it).
alert_withdrawn = Signal()
