"""Alerts in the record (issue 4, parts 4-5): stored findings of the pure rules, with a clinician lifecycle."""
