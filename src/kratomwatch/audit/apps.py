from django.apps import AppConfig
from django.core.signals import request_finished


class AuditConfig(AppConfig):
    name = "kratomwatch.audit"
    label = "audit"

    def ready(self) -> None:
        from kratomwatch.audit import guard  # noqa: PLC0415 - models must be loaded first
        from kratomwatch.audit.log import flush_refused_reads  # noqa: PLC0415 - models must be loaded first

        # A refused read inside a transaction that then rolled back is written again once the request is over.
        request_finished.connect(flush_refused_reads, dispatch_uid="kratomwatch.audit.refused_reads")
        # Only Django's test harness may empty a test database's audit tables (its flush between tests).
        guard.allow_test_flush()
