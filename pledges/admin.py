"""The Django admin for daily work. What staff may see and do follows their
role, as in the API; every change goes through the same services (there is
no second path that skips the rules), so rows are read-only here and the
work is done by actions."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline

from pledges.audit import Actor, audit_record
from pledges.board.services import campaign_session_under_way_set
from pledges.donors import donor_erase, donor_merge
from pledges.errors import DomainError
from pledges.exchange_rates import exchange_rate_errors, exchange_rate_set
from pledges.iati.services import donor_iati_org_ref_set, iati_org_ref_errors
from pledges.models import (
    AuditEvent,
    Campaign,
    CardPaymentIntent,
    ChoiceLabel,
    Donor,
    Event,
    EventSession,
    ExchangeRate,
    Instalment,
    Payment,
    Pledge,
    PledgeVersion,
    StripeEvent,
    StripeSyncRun,
)
from pledges.payments.services import payment_reverse
from pledges.roles import FUND_ADMIN, RECONCILER, VIEWER, has_role
from pledges.services import pledge_cancel, pledge_confirm, pledge_lapse, pledge_verify

admin.site.site_header = "UN Trust Fund for Victims of Trafficking: pledges"
admin.site.site_title = "Trust Fund pledges"


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=2000, label="Reason", help_text="Needed to cancel, lapse, reverse or erase"
    )


class RoleAdmin(admin.ModelAdmin):
    """Read-only for every role; actions are offered by role."""

    action_form = ReasonActionForm

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, VIEWER)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, VIEWER)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, RECONCILER)

    def has_administer_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, FUND_ADMIN)

    def run_service(self, request: HttpRequest, queryset: QuerySet, service, done: str, **kwargs) -> None:
        """Call a service for each selected row and report how it went; a
        refusal on one row does not stop the others."""
        succeeded = 0
        for obj in queryset:
            try:
                service(obj, actor=Actor.staff(request.user), **kwargs)
                succeeded += 1
            except DomainError as error:
                self.message_user(request, f"{obj}: {error.detail} {error.errors or ''}", messages.ERROR)
        if succeeded:
            self.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)


def _reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "")


def reasoned_action(service, done: str, *, description: str, permissions: list[str]):
    """An admin action that calls `service(<model>=row, actor=..., reason=...)`
    for each selected row, with the reason typed in the action form. The
    services name their row after its model (`pledge=`, `payment=`, `donor=`)."""

    @admin.action(description=description, permissions=permissions)
    def action(modeladmin: RoleAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        target = modeladmin.model._meta.model_name

        def call(obj, **kwargs):
            return service(**{target: obj}, **kwargs, reason=_reason(request))

        modeladmin.run_service(request, queryset, call, done)

    return action


# What a payment is, as the pledge's inline and the payments' list show it.
PAYMENT_COLUMNS = [
    "received_on",
    "method",
    "amount",
    "currency",
    "amount_applied",
    "amount_usd",
    "fee",
    "external_reference",
    "status",
]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return has_role(request.user, VIEWER)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class InstalmentInline(ReadOnlyInline):
    model = Instalment
    readonly_fields = ["due_date", "amount"]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fk_name = "pledge"
    fields = readonly_fields = (*PAYMENT_COLUMNS, "reverses")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PledgeVersionInline(admin.TabularInline):
    model = PledgeVersion
    extra = 0
    can_delete = False
    readonly_fields = [
        "version",
        "amount",
        "currency",
        "amount_usd",
        "valid_from",
        "valid_until",
        "replaced_by",
        "reason",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Pledge)
class PledgeAdmin(RoleAdmin):
    list_display = [
        "reference",
        "donor",
        "status",
        "amount",
        "currency",
        "amount_usd",
        "amount_paid",
        "pledged_on",
        "session",
    ]
    list_filter = [
        "status",
        "campaign",
        "session",
        "donor__donor_type",
        "currency",
        "payment_method",
        "source",
        "earmark",
    ]
    search_fields = ["reference", "donor__name", "donor__email"]
    list_select_related = ["donor", "session"]
    date_hierarchy = "pledged_on"
    inlines = [InstalmentInline, PaymentInline, PledgeVersionInline]
    actions = ["verify", "confirm", "cancel", "lapse"]

    verify = reasoned_action(
        pledge_verify, "Verified", description="Verify the selected web submissions", permissions=["reconcile"]
    )
    confirm = reasoned_action(
        pledge_confirm,
        "Confirmed",
        description="Confirm the selected pledges (USD value fixed at today's rate)",
        permissions=["reconcile"],
    )
    cancel = reasoned_action(
        pledge_cancel,
        "Cancelled",
        description="Cancel the selected pledges (give a reason)",
        permissions=["administer"],
    )
    lapse = reasoned_action(
        pledge_lapse,
        "Lapsed",
        description="Lapse the remainder of the selected pledges (give a reason)",
        permissions=["administer"],
    )


@admin.register(Payment)
class PaymentAdmin(RoleAdmin):
    list_display = ["id", "pledge", *PAYMENT_COLUMNS]
    list_filter = ["method", "status", "currency", "received_on"]
    search_fields = ["pledge__reference", "external_reference", "pledge__donor__name"]
    list_select_related = ["pledge"]
    actions = ["reverse"]

    reverse = reasoned_action(
        payment_reverse,
        "Reversed",
        description="Reverse the selected payments (give a reason)",
        permissions=["reconcile"],
    )


class DonorIatiForm(forms.ModelForm):
    class Meta:
        model = Donor
        fields = ["iati_org_ref"]

    def clean_iati_org_ref(self) -> str:
        value = self.cleaned_data["iati_org_ref"]
        errors = iati_org_ref_errors(value)
        if errors:
            raise forms.ValidationError(errors)
        return value


@admin.register(Donor)
class DonorAdmin(RoleAdmin):
    list_display = ["name", "donor_type", "country", "email", "merged_into", "erased_at", "created_at"]
    list_filter = [
        "donor_type",
        "country",
        ("merged_into", admin.EmptyFieldListFilter),
        ("erased_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["name", "email", "contact_name"]
    actions = ["merge", "erase"]
    # Issue 16: the IATI organisation identifier is the one field staff
    # edit here (fund admins), through its service.
    form = DonorIatiForm

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, FUND_ADMIN)

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in Donor._meta.fields if field.name not in ("id", "iati_org_ref")]

    def save_model(self, request, obj, form, change) -> None:
        donor_iati_org_ref_set(donor=obj, value=form.cleaned_data["iati_org_ref"], actor=Actor.staff(request.user))

    @admin.action(description="Merge the selected donors into the oldest of them", permissions=["administer"])
    def merge(self, request, queryset):
        donors = list(queryset.order_by("pk"))
        if len(donors) < 2:
            self.message_user(request, "Select at least two donors to merge.", messages.WARNING)
            return
        self.run_service(
            request,
            queryset.filter(pk=donors[0].pk),
            lambda keep, **kw: donor_merge(keep=keep, duplicates=donors[1:], reason=_reason(request), **kw),
            f"Merged {len(donors) - 1} donors into {donors[0]}",
        )

    erase = reasoned_action(
        donor_erase,
        "Erased",
        description="Erase the contact details of the selected donors (give a reason)",
        permissions=["administer"],
    )


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "rate", "valid_from"]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns (the stubs allow None)
        if {"currency", "rate", "valid_from"} <= data.keys():
            data["currency"] = data["currency"].upper()
            for name, errors in exchange_rate_errors(data["currency"], data["rate"], data["valid_from"]).items():
                self.add_error(name, errors)
        return data


@admin.register(ExchangeRate)
class ExchangeRateAdmin(RoleAdmin):
    list_display = ["currency", "rate", "valid_from", "source", "created_at"]
    list_filter = ["currency"]
    search_fields = ["currency"]
    form = ExchangeRateForm

    def has_add_permission(self, request, obj=None) -> bool:
        return has_role(request.user, FUND_ADMIN)

    def save_model(self, request, obj, form, change) -> None:
        # Through the service: it audits and recomputes the USD values that
        # waited for this rate.
        outcome = exchange_rate_set(
            currency=obj.currency, rate=obj.rate, valid_from=obj.valid_from, actor=Actor.staff(request.user)
        )
        obj.pk = outcome.rate.pk


class AuditedConfigAdmin(RoleAdmin):
    """Campaigns and events: fund admins edit them, each change audited."""

    def has_add_permission(self, request, obj=None) -> bool:
        return has_role(request.user, FUND_ADMIN)

    def has_change_permission(self, request, obj=None) -> bool:
        return has_role(request.user, FUND_ADMIN)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            actor=Actor.staff(request.user),
            action=f"{obj._meta.model_name}.{'changed' if change else 'added'}",
            obj=obj,
            old={name: str(form.initial.get(name)) for name in form.changed_data} if change else {},
            new={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
        )


def translations_missing(obj, field: str = "title") -> str:
    """The languages whose text is empty and so read as the English one."""
    missing = [name for code, name in settings.LANGUAGES if not getattr(obj, f"{field}_{code.replace('-', '_')}")]
    return ", ".join(missing) or "—"


class TranslatedTitlesAdmin(TranslationAdmin):
    """Each title (or label) in the six languages, side by side; an empty one
    falls back to English, which the list and the form both say."""

    translated_field = "title"

    @admin.display(description="Shown in English (no translation)")
    def titles_missing(self, obj) -> str:
        return translations_missing(obj, self.translated_field)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        prefix = f"{self.translated_field}_"
        for name, field in form.base_fields.items():
            if name.startswith(prefix) and name != f"{prefix}en":
                field.help_text = "Empty: the English text is shown in this language."
        return form


@admin.register(Campaign)
class CampaignAdmin(TranslatedTitlesAdmin, AuditedConfigAdmin):
    list_display = ["slug", "title", "goal_usd", "starts_on", "ends_on", "session_under_way", "titles_missing"]
    search_fields = ["slug", "title"]
    # Issue 16: set from the sessions' list, through its service.
    readonly_fields = ["session_under_way", "session_under_way_since"]
    actions = ["no_session_under_way"]

    @admin.action(description="Live board: no session is under way", permissions=["reconcile"])
    def no_session_under_way(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda campaign, **kw: campaign_session_under_way_set(campaign=campaign, session=None, **kw),
            "No session under way now for campaigns",
        )


class EventSessionInline(TranslationTabularInline):
    model = EventSession
    extra = 0


@admin.register(Event)
class EventAdmin(TranslatedTitlesAdmin, AuditedConfigAdmin):
    list_display = ["slug", "title", "held_on", "campaign", "titles_missing"]
    list_filter = ["campaign"]
    inlines = [EventSessionInline]


@admin.register(ChoiceLabel)
class ChoiceLabelAdmin(TranslatedTitlesAdmin, AuditedConfigAdmin):
    """Donor type and earmark labels as donors read them, in six languages."""

    translated_field = "text"
    list_display = ["kind", "value", "text", "titles_missing"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "value"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the codes are the data's; only their words change

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(RoleAdmin):
    list_display = [
        "occurred_at",
        "action",
        "actor_kind",
        "actor_label",
        "object_type",
        "object_id",
        "pledge",
        "reason",
    ]
    list_filter = ["action", "actor_kind", "object_type"]
    search_fields = ["pledge__reference", "actor_label", "object_id", "action"]
    list_select_related = ["pledge"]
    date_hierarchy = "occurred_at"
    actions = None


@admin.register(StripeEvent)
class StripeEventAdmin(RoleAdmin):
    list_display = [
        "event_id",
        "event_type",
        "stripe_created_at",
        "received_at",
        "source",
        "status",
        "attempts",
        "outcome",
    ]
    list_filter = ["status", "event_type", "source"]
    search_fields = ["event_id", "payload"]
    date_hierarchy = "received_at"
    actions = None


@admin.register(CardPaymentIntent)
class CardPaymentIntentAdmin(RoleAdmin):
    list_display = ["payment_intent_id", "pledge", "amount", "currency", "status", "last_error", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["payment_intent_id", "pledge__reference"]
    list_select_related = ["pledge"]
    actions = None


@admin.register(StripeSyncRun)
class StripeSyncRunAdmin(RoleAdmin):
    list_display = ["started_at", "finished_at", "status", "report"]
    list_filter = ["status"]
    actions = None


# --- Issue 16: the session under way, for the live board --------------------


@admin.register(EventSession)
class EventSessionAdmin(RoleAdmin):
    list_display = ["title", "event", "starts_at", "ends_at", "under_way"]
    list_filter = ["event__campaign", "event"]
    list_select_related = ["event__campaign"]
    search_fields = ["title", "slug", "event__title"]
    actions = ["mark_under_way"]

    @admin.display(boolean=True, description="Under way (live board)")
    def under_way(self, session: EventSession) -> bool:
        return session.event.campaign.session_under_way_id == session.pk

    @admin.action(description="Live board: mark the selected session as under way now", permissions=["reconcile"])
    def mark_under_way(self, request, queryset):
        sessions = list(queryset[:2])
        if len(sessions) != 1:
            self.message_user(request, "Select exactly one session: one is under way at a time.", messages.WARNING)
            return
        self.run_service(
            request,
            queryset,
            lambda session, **kw: campaign_session_under_way_set(
                campaign=session.event.campaign, session=session, **kw
            ),
            f"Under way now: {sessions[0].title}",
        )
