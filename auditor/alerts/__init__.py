"""Alerts: what changed between waves (or against a baseline), sent to webhooks and mailboxes once."""

from __future__ import annotations

from auditor.alerts.config import NotifyConfig, load_notify, notify_config, parse_destination
from auditor.alerts.notify import Delivery, deliver, notify_waves, summary

__all__ = ["Delivery", "NotifyConfig", "deliver", "load_notify", "notify_config", "notify_waves",
           "parse_destination", "summary"]
