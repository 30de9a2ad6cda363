"""Alerts in the record: stored findings of the pure rules, with a clinician lifecycle."""
