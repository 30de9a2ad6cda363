"""Validated outcome instruments: stored assessments and schedules, their writes and selectors.

Scoring is done by the pure core (``kratomwatch.core.instruments``); this app stores the answers and the
scores the core computed, and decides nothing clinical itself.
"""
