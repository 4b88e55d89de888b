from django.urls import path, register_converter

from pledges import api, staff_api
from pledges.reconciliation import api as reconciliation_api
from pledges.reconciliation import imports_api
from pledges.reconciliation.reminders_api import ReminderCollection
from pledges.web.status import PledgeStatusPage


class ReferenceConverter:
    """An ISO 11649 reference in compact form, any case ("RF18VTF..."),
    passed on as written: the selector `pledge_by_reference` reads it."""

    regex = "[Rr][Ff][0-9A-Za-z]{2,23}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "ref")

# Actions on one pledge and on one statement line: POST .../<action>/.
PLEDGE_ACTIONS = {
    "verify": staff_api.PledgeVerifyView,
    "confirm": staff_api.PledgeConfirmView,
    "cancel": staff_api.PledgeCancelView,
    "lapse": staff_api.PledgeLapseView,
    "amount": staff_api.PledgeAmountView,
}
LINE_ACTIONS = {
    "accept": reconciliation_api.LineAcceptView,
    "reject": reconciliation_api.LineRejectView,
    "match": reconciliation_api.LineMatchView,
    "unmatch": reconciliation_api.LineUnmatchView,
    "exclude": reconciliation_api.LineExcludeView,
}

urlpatterns = [
    # Public
    path("pledges/", staff_api.PledgeCollection.as_view(), name="pledge-collection"),
    path("pledges/status/<str:secret>/", PledgeStatusPage.as_view(), name="pledge-status"),
    path("pledges/status/<str:secret>/payment/", api.PledgeCardPaymentView.as_view(), name="pledge-card-payment"),
    path("payments/stripe/webhook/", api.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("public/totals/", api.PublicTotalsView.as_view(), name="public-totals"),
    path("public/pledges/", api.PublicPledgesView.as_view(), name="public-pledges"),
    # Staff: pledges
    path("pledges/export/", staff_api.PledgeExportView.as_view(), name="pledge-export"),
    path("pledges/announced/", staff_api.PledgeAnnouncedView.as_view(), name="pledge-announced"),
    path("pledges/<ref:reference>/", staff_api.PledgeDetailView.as_view(), name="pledge-detail"),
    *[
        path(f"pledges/<ref:reference>/{action}/", view.as_view(), name=f"pledge-{action}")
        for action, view in PLEDGE_ACTIONS.items()
    ],
    # Staff: payments
    path("payments/", staff_api.PaymentCollection.as_view(), name="payment-collection"),
    path("payments/<int:pk>/", staff_api.PaymentDetailView.as_view(), name="payment-detail"),
    path("payments/<int:pk>/reverse/", staff_api.PaymentReverseView.as_view(), name="payment-reverse"),
    # Staff: exchange rates, donors, audit
    path("exchange-rates/", staff_api.ExchangeRateCollection.as_view(), name="exchange-rate-collection"),
    path("exchange-rates/import/", staff_api.ExchangeRateImportView.as_view(), name="exchange-rate-import"),
    path("donors/", staff_api.DonorCollection.as_view(), name="donor-collection"),
    path("donors/<int:pk>/", staff_api.DonorDetailView.as_view(), name="donor-detail"),
    path("donors/<int:pk>/merge/", staff_api.DonorMergeView.as_view(), name="donor-merge"),
    path("donors/<int:pk>/erase/", staff_api.DonorEraseView.as_view(), name="donor-erase"),
    path("audit/", staff_api.AuditCollection.as_view(), name="audit-collection"),
    # Staff: reconciliation
    path("statements/", reconciliation_api.StatementCollection.as_view(), name="statement-collection"),
    path("statements/<int:pk>/", reconciliation_api.StatementDetailView.as_view(), name="statement-detail"),
    # Statement imports: preview, large files' progress, CSV profiles (issue 11)
    path("statements/preview/", imports_api.StatementPreviewView.as_view(), name="statement-preview"),
    path(
        "statement-imports/<int:pk>/", imports_api.StatementImportDetailView.as_view(), name="statement-import-detail"
    ),
    path("csv-profiles/", imports_api.CsvProfileCollection.as_view(), name="csv-profile-collection"),
    path("csv-profiles/<int:pk>/", imports_api.CsvProfileDetailView.as_view(), name="csv-profile-detail"),
    path("statement-lines/", reconciliation_api.StatementLineCollection.as_view(), name="statement-line-collection"),
    *[
        path(f"statement-lines/<int:pk>/{action}/", view.as_view(), name=f"statement-line-{action}")
        for action, view in LINE_ACTIONS.items()
    ],
    path("reminders/", ReminderCollection.as_view(), name="reminder-collection"),
    path(
        "reconciliation/summary/",
        reconciliation_api.ReconciliationSummaryView.as_view(),
        name="reconciliation-summary",
    ),
]
