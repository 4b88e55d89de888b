"""Filters for the staff lists (django-filter)."""

import operator
from collections.abc import Callable
from datetime import timedelta
from functools import reduce

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django_filters.constants import EMPTY_VALUES
from django_filters.fields import IsoDateTimeField

from pledges.models import AuditEvent, Donor, DonorType, Payment, PaymentMethod, Pledge, PledgeStatus
from pledges.references import reference_normal


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """Orders as asked, with empty values (a USD value awaiting its rate)
    last whichever the direction."""

    def get_ordering_value(self, param: str):
        descending = param.startswith("-")
        field = F(self.param_map[param.lstrip("-")])
        return field.desc(nulls_last=True) if descending else field.asc(nulls_last=True)


class SearchFilter(django_filters.CharFilter):
    """Free text (its first 200 characters) that any of `lookups` may match,
    each lookup given the text as typed or normalised by its function
    (`reference_normal` for a reference)."""

    def __init__(self, *lookups: str, normalised: dict[str, Callable[[str], str]] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.lookups = {lookup: str for lookup in lookups} | (normalised or {})

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        if value in EMPTY_VALUES:
            return queryset
        value = value.strip()[:200]
        return queryset.filter(
            reduce(operator.or_, (Q(**{lookup: normal(value)}) for lookup, normal in self.lookups.items()))
        )


class FlagFilter(django_filters.BooleanFilter):
    """true: the rows `condition` holds for; false: the others."""

    def __init__(self, condition: Q | Exists, **kwargs):
        super().__init__(**kwargs)
        self.condition = condition

    def filter(self, queryset: QuerySet, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(self.condition) if value else queryset.exclude(self.condition)


# Real time zones lie between UTC-12:00 and UTC+14:00; PostgreSQL refuses
# offsets past 15:59 with an error, so one past 14:00 either way is refused
# here, by name (the schema says so with a pattern).
LARGEST_UTC_OFFSET = timedelta(hours=14)


class MomentField(IsoDateTimeField):
    def clean(self, value):
        moment = super().clean(value)
        offset = moment.utcoffset() if moment is not None else None
        if offset is not None and abs(offset) > LARGEST_UTC_OFFSET:
            raise forms.ValidationError("The time zone offset must lie between -14:00 and +14:00.", code="bad-offset")
        return moment


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 moment, with a time zone offset that exists."""

    field_class = MomentField


class PledgeFilter(django_filters.FilterSet):
    campaign = django_filters.CharFilter(field_name="campaign__slug")
    session = django_filters.CharFilter(field_name="session__slug")
    status = django_filters.MultipleChoiceFilter(choices=PledgeStatus.choices)
    donor_type = django_filters.MultipleChoiceFilter(field_name="donor__donor_type", choices=DonorType.choices)
    country = django_filters.CharFilter(field_name="donor__country", lookup_expr="iexact")
    currency = django_filters.CharFilter(field_name="currency", lookup_expr="iexact")
    payment_method = django_filters.ChoiceFilter(choices=PaymentMethod.choices)
    overdue = django_filters.BooleanFilter(field_name="overdue")
    usd_rate_missing = django_filters.BooleanFilter(field_name="amount_usd", lookup_expr="isnull")
    needs_review = FlagFilter(
        Exists(Payment.objects.filter(pledge=OuterRef("pk")).exclude(review_reason="")),
        label="Has a payment flagged for staff",
    )
    pledged_from = django_filters.DateFilter(field_name="pledged_on", lookup_expr="gte")
    pledged_until = django_filters.DateFilter(field_name="pledged_on", lookup_expr="lte")
    confirmed_from = django_filters.DateFilter(field_name="confirmed_on", lookup_expr="gte")
    confirmed_until = django_filters.DateFilter(field_name="confirmed_on", lookup_expr="lte")
    created_from = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_until = MomentFilter(field_name="created_at", lookup_expr="lte")
    q = SearchFilter(
        "donor__name__icontains",
        "donor__email__iexact",
        normalised={"reference__startswith": reference_normal},
        label="Donor name, email or pledge reference",
    )
    ordering = NullsLastOrderingFilter(
        fields=(
            ("pledged_on", "pledged_on"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
            ("amount_usd", "amount_usd"),
            ("amount_paid", "amount_paid"),
            ("status", "status"),
            ("donor__name", "donor"),
            ("reference", "reference"),
        )
    )

    class Meta:
        model = Pledge
        fields: list[str] = []


class PaymentFilter(django_filters.FilterSet):
    pledge = django_filters.CharFilter(field_name="pledge__reference", lookup_expr="iexact")
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices)
    currency = django_filters.CharFilter(lookup_expr="iexact")
    received_from = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_until = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")
    bank_reference = django_filters.CharFilter(field_name="external_reference", lookup_expr="iexact")
    needs_review = FlagFilter(~Q(review_reason=""), label="Flagged for staff (mismatch, dispute)")

    class Meta:
        model = Payment
        fields: list[str] = []


class DonorFilter(django_filters.FilterSet):
    type = django_filters.MultipleChoiceFilter(field_name="donor_type", choices=DonorType.choices)
    country = django_filters.CharFilter(lookup_expr="iexact")
    q = SearchFilter("name__icontains", "email__iexact", label="Name or email")
    include_merged = django_filters.BooleanFilter(method="merged", label="Include donors merged into others")

    class Meta:
        model = Donor
        fields: list[str] = []

    def merged(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset  # applied in filter_queryset, which also covers its absence

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if not self.form.cleaned_data.get("include_merged"):
            queryset = queryset.filter(merged_into__isnull=True)
        return super().filter_queryset(queryset)


class AuditFilter(django_filters.FilterSet):
    pledge = django_filters.CharFilter(field_name="pledge__reference", lookup_expr="iexact")
    action = django_filters.CharFilter(lookup_expr="startswith")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="iexact")
    actor_kind = django_filters.CharFilter()
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    occurred_from = MomentFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_until = MomentFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields: list[str] = []
