"""Scheduled and background work: the task queue (django-tasks, database backend), the daily schedule and long jobs.

``kratomwatch worker`` runs queued tasks and, on each tick, enqueues each daily job that is due exactly once per
(job, local date) (``scheduler``); ``progress`` records long jobs (exports, imports) for pages to poll.
"""
