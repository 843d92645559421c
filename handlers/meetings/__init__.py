"""Meetings: conferences, council sessions and committee meetings (bot/services/meetings/).

One capability per module: schedule.py (reminders and the yearly rule); the others each answer
their own panels of a meeting's card (bot/keyboards/meetings.py)."""
