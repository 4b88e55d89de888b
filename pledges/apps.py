from django.apps import AppConfig


class PledgesConfig(AppConfig):
    name = "pledges"
    verbose_name = "Pledges"

    def ready(self) -> None:
        from pledges import signals  # noqa: F401  (connects the receivers)

        # Statements' admin pages (issue 11): registered here, after the
        # admin's autodiscovery has imported pledges.admin, which they build on.
        from pledges.reconciliation import admin  # noqa: F401
