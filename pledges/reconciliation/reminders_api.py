"""The staff API's reminder history: which reminder went to whom, for which
instalment and at which step. Read-only; the reminders job writes it."""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.api import StaffList, staff_get
from pledges.filters import MomentFilter
from pledges.money import format_amount
from pledges.reconciliation.models import ReminderStep
from pledges.references import reference_normal


class ReminderFilter(django_filters.FilterSet):
    pledge = django_filters.CharFilter(method="by_pledge", label="The pledge's reference (spaces and case ignored)")
    sent_from = MomentFilter(field_name="sent_at", lookup_expr="gte")
    sent_until = MomentFilter(field_name="sent_at", lookup_expr="lte")

    class Meta:
        model = ReminderStep
        fields: list[str] = []

    def by_pledge(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(pledge__reference=reference_normal(value))


class ReminderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    pledge = serializers.CharField(source="pledge.reference")
    donor = serializers.CharField(source="pledge.donor.name")
    due_date = serializers.DateField(help_text="The instalment's due date")
    amount = serializers.SerializerMethodField(help_text="The instalment's amount, in its currency's minor units")
    currency = serializers.CharField(source="pledge.currency")
    days_from_due = serializers.IntegerField(help_text="The step: days from the due date, negative before it")
    sent_at = serializers.DateTimeField()
    recipient = serializers.EmailField(help_text="The address it went to (empty once the donor is erased)")
    language = serializers.CharField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_amount(self, reminder: ReminderStep) -> str:
        return format_amount(reminder.amount, reminder.pledge.currency)


@staff_get(
    "reminder_list",
    "Reminders e-mailed to donors about their instalments, with filters (viewer)",
    responses={200: ReminderSerializer(many=True)},
    tags=["staff: reconciliation"],
)
class ReminderCollection(StaffList):
    """Reminders e-mailed to donors, newest first."""

    serializer_class = ReminderSerializer
    filterset_class = ReminderFilter

    def get_queryset(self) -> QuerySet[ReminderStep]:
        return ReminderStep.objects.select_related("pledge__donor").order_by("-sent_at", "-id")
