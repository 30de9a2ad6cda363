"""Notifications: every message kratomwatch sends (email, the clinic's paging webhook), recorded, retried, never lost.

Messages carry the minimum necessary: a link to log in and look, and an id; never a patient code or clinical text.
"""
