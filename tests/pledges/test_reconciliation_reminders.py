"""Reminders e-mailed about instalments before and after their due dates:
the right step on the right day, only for pledges still owed, in the
donor's language, never twice (not even from two workers at once), and
the history staff read."""

import json
import smtplib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.urls import include, path
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from pledges import tasks
from pledges.audit import Actor
from pledges.donors import donor_erase
from pledges.models import AuditEvent, Instalment, PaymentMethod, Pledge, PledgeStatus
from pledges.payments.services import PaymentDetails, payment_record
from pledges.reconciliation import reminders
from pledges.reconciliation.models import ReminderStep
from pledges.reconciliation.reminders_api import ReminderCollection
from pledges.references import reference_for_print
from pledges.selectors import pledges_for_staff
from pledges.services import InstalmentTerms, pledge_amount_change
from tests.conftest import run_at_once
from tests.factories import DonorFactory, PledgeFactory

# The view is not in pledges.urls yet: tests marked `urls(__name__)` route
# the API through this module, with the reminder list where it is meant to go.
urlpatterns = [
    path("api/v1/reminders/", ReminderCollection.as_view(), name="reminder-collection"),
    path("api/v1/", include("pledges.urls")),
]

DUE = date(2026, 6, 1)
STEPS = (-14, 7, 30)


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    """The steps these tests are written for, whatever the project sets."""
    settings.REMINDER_DAYS = STEPS
    settings.REMINDER_MAX_PER_INSTALMENT = 3
    settings.SITE_URL = "https://pledges.example.org"


def pledge_with_plan(
    *plan: tuple[date, str], status: str = PledgeStatus.CONFIRMED, amount_paid: str = "0", donor=None, **fields
) -> Pledge:
    """A pledge of the plan's total with one instalment per (due date, amount)."""
    plan = plan or ((DUE, "1000.00"),)
    if status == PledgeStatus.CONFIRMED:
        # Confirmed at a moment, so the status its money gives is the one it has.
        fields.setdefault("confirmed_at", timezone.now())
    pledge = PledgeFactory(
        status=status,
        amount=sum(Decimal(amount) for _, amount in plan),
        amount_paid=Decimal(amount_paid),
        donor=donor or DonorFactory(),
        **fields,
    )
    for due_date, amount in plan:
        Instalment.objects.create(pledge=pledge, due_date=due_date, amount=Decimal(amount))
    return pledge


def run(days_from_due: int, due: date = DUE) -> dict:
    return reminders.reminders_send(today=due + timedelta(days=days_from_due))


def steps_sent(pledge: Pledge) -> list[int]:
    return sorted(ReminderStep.objects.filter(instalment__pledge=pledge).values_list("days_from_due", flat=True))


# --- Which step, on which day ------------------------------------------------------------


@pytest.mark.django_db
def test_the_reminder_before_the_due_date_goes_on_its_day_and_not_before():
    pledge = pledge_with_plan()

    assert run(-15)["sent"] == []
    report = run(-14)

    assert [line["days_from_due"] for line in report["sent"]] == [-14]
    assert steps_sent(pledge) == [-14]
    [message] = mail.outbox
    assert message.to == [pledge.donor.email]
    assert message.subject.startswith("Reminder:")
    assert "is due on June 1, 2026" in message.body
    assert "was due on" not in message.body


@pytest.mark.django_db
def test_the_reminder_after_the_due_date_says_it_was_due():
    pledge = pledge_with_plan()

    report = run(7)

    assert [line["days_from_due"] for line in report["sent"]] == [7]
    [message] = mail.outbox
    assert message.subject.startswith("Overdue:")
    assert "was due on June 1, 2026" in message.body
    assert "is due on" not in message.body
    assert steps_sent(pledge) == [7]


@pytest.mark.django_db
def test_run_every_day_it_sends_each_step_once_on_its_day():
    pledge = pledge_with_plan()

    sent_on = {}
    for offset in range(-20, 61):
        for line in run(offset)["sent"]:
            sent_on[line["days_from_due"]] = offset

    assert sent_on == {-14: -14, 7: 7, 30: 30}
    assert len(mail.outbox) == 3
    assert steps_sent(pledge) == [-14, 7, 30]


@pytest.mark.django_db
def test_a_pledge_recorded_late_gets_only_the_latest_step_that_has_come():
    pledge = pledge_with_plan()

    report = run(45)

    assert [line["days_from_due"] for line in report["sent"]] == [30]
    assert steps_sent(pledge) == [30]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_job_that_missed_days_catches_up_with_one_reminder():
    pledge = pledge_with_plan()
    run(-14)

    run(12)  # the job did not run on day 7

    assert steps_sent(pledge) == [-14, 7]
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_an_earlier_step_never_follows_a_later_one():
    pledge = pledge_with_plan()
    run(30)

    assert run(7)["sent"] == []  # a clock set back, or a step added to the settings
    assert steps_sent(pledge) == [30]


@pytest.mark.django_db
def test_each_instalment_is_reminded_for_itself():
    later = DUE + timedelta(days=90)
    pledge = pledge_with_plan((DUE, "400.00"), (later, "600.00"))

    run(-14)
    run(-14, due=later)  # 76 days after the first one fell due

    reminded = ReminderStep.objects.filter(instalment__pledge=pledge).values_list(
        "instalment__due_date", "days_from_due"
    )
    assert sorted(reminded) == [(DUE, -14), (DUE, 30), (later, -14)]
    assert len(mail.outbox) == 3


# --- Who is reminded ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [PledgeStatus.ANNOUNCED, PledgeStatus.CONFIRMED, PledgeStatus.PARTIALLY_PAID])
def test_open_pledges_are_reminded(status):
    pledge = pledge_with_plan((DUE, "500.00"), (DUE + timedelta(days=365), "500.00"), status=status)

    run(7)

    assert steps_sent(pledge) == [7]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [PledgeStatus.SUBMITTED, PledgeStatus.PAID, PledgeStatus.CANCELLED, PledgeStatus.LAPSED]
)
def test_pledges_unverified_paid_or_closed_are_not_reminded(status):
    pledge_with_plan(status=status, amount_paid="1000.00" if status == PledgeStatus.PAID else "0")

    for offset in (-14, 7, 30):
        assert run(offset)["sent"] == []

    assert mail.outbox == []
    assert not ReminderStep.objects.exists()


@pytest.mark.django_db
def test_money_pays_the_earliest_instalments_first_and_only_what_is_owed_is_reminded():
    second = DUE + timedelta(days=30)
    pledge = pledge_with_plan((DUE, "400.00"), (second, "600.00"))
    payment_record(
        pledge=pledge,
        details=PaymentDetails(
            amount=Decimal("500.00"),
            currency="USD",
            received_on=timezone.localdate(),
            method=PaymentMethod.BANK_TRANSFER,
            bank_reference="FIFO-1",
        ),
        actor=Actor.system("test"),
    )
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.PARTIALLY_PAID

    report = run(7, due=second)  # both instalments' steps have come

    assert [(line["due_date"], line["days_from_due"]) for line in report["sent"]] == [(second.isoformat(), 7)]
    [message] = mail.outbox
    assert "Still to pay: $500.00" in message.body
    assert "Received so far: $100.00" in message.body
    assert "Instalment: $600.00" in message.body


@pytest.mark.django_db
def test_an_instalment_paid_in_full_is_not_reminded_even_if_the_pledge_is_open():
    pledge_with_plan((DUE, "400.00"), (DUE + timedelta(days=60), "600.00"), amount_paid="400.00")

    assert run(7)["sent"] == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_donors_without_an_email_address_are_skipped_and_reported():
    pledge = pledge_with_plan(donor=DonorFactory(email=""))

    report = run(7)

    assert report["sent"] == []
    assert [(line["pledge"], line["reason"]) for line in report["skipped"]] == [(pledge.reference, "no_email")]
    assert report["per_step"]["7"] == {"sent": 0, "skipped": {"no_email": 1}}
    assert not ReminderStep.objects.exists()


@pytest.mark.django_db
def test_erased_donors_are_not_reminded(fund_admin):
    pledge = pledge_with_plan()
    donor_erase(donor=pledge.donor, actor=Actor.staff(fund_admin), reason="Asked on 1 May")

    report = run(7)

    assert report["sent"] == []
    assert [line["reason"] for line in report["skipped"]] == ["donor_erased"]
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_erased_donor_keeps_no_address_in_the_reminder_history(fund_admin):
    """Erasure removes contact details: the addresses reminders went to are
    contact details too. (Fails while donor_erase leaves them.)"""
    pledge = pledge_with_plan()
    run(-14)
    assert ReminderStep.objects.get().recipient == pledge.donor.email

    donor_erase(donor=pledge.donor, actor=Actor.staff(fund_admin), reason="Asked on 1 May")

    assert ReminderStep.objects.get().recipient == ""


@pytest.mark.django_db
def test_a_pledge_whose_plan_was_reminded_can_still_change_its_amount(fund_admin):
    """A reminder sent must not freeze the instalment plan. (Fails while the
    amount change deletes the old instalments, which reminders protect.)"""
    pledge = pledge_with_plan()
    run(-14)

    pledge_amount_change(
        pledge=pledge,
        amount=Decimal("1200.00"),
        instalments=[InstalmentTerms(due_date=DUE + timedelta(days=90), amount=Decimal("1200.00"))],
        actor=Actor.staff(fund_admin),
        reason="The donor raised the pledge",
    )

    pledge.refresh_from_db()
    assert pledge.amount == Decimal("1200.00")


# --- Settings --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_at_most_so_many_reminders_go_for_one_instalment(settings):
    settings.REMINDER_MAX_PER_INSTALMENT = 2
    pledge = pledge_with_plan()

    run(-14)
    run(7)
    report = run(30)

    assert steps_sent(pledge) == [-14, 7]
    assert [line["reason"] for line in report["skipped"]] == ["max_reached"]
    assert report["per_step"]["30"] == {"sent": 0, "skipped": {"max_reached": 1}}
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_steps_come_from_settings(settings):
    settings.REMINDER_DAYS = [3, -3, 3]
    pledge = pledge_with_plan()

    assert run(-4)["sent"] == []
    run(-3)
    run(2)
    run(3)

    assert steps_sent(pledge) == [-3, 3]
    assert run(100)["steps"] == [-3, 3]


@pytest.mark.django_db
def test_a_single_step_works(settings):
    settings.REMINDER_DAYS = [10]
    pledge = pledge_with_plan()

    run(9)
    run(11)
    run(12)

    assert steps_sent(pledge) == [10]


@pytest.mark.django_db
def test_without_settings_the_defaults_apply(settings):
    del settings.REMINDER_DAYS
    del settings.REMINDER_MAX_PER_INSTALMENT

    report = run(0)

    assert report["steps"] == [-14, 7, 30]
    assert report["max_per_instalment"] == 3


# --- Language ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("preferred", "used"),
    [("fr", "fr"), ("FR", "fr"), ("fr-CA", "fr"), ("zh-cn", "zh-hans"), ("es", "es"), ("de", "en"), ("", "en")],
)
def test_the_language_follows_the_donor_where_known(preferred, used):
    pledge_with_plan(donor=DonorFactory(language=preferred))

    run(-14)

    assert ReminderStep.objects.get().language == used
    assert AuditEvent.objects.get(action="pledge.reminder.sent").new_values["language"] == used


@pytest.mark.django_db
def test_the_message_is_rendered_in_the_donors_language():
    """Django's own catalogues translate the date, whatever our catalogues hold."""
    pledge_with_plan(donor=DonorFactory(language="fr"))

    run(7)

    [message] = mail.outbox
    assert "1 juin 2026" in message.body
    assert "1 juin 2026" in message.subject
    assert "June" not in message.body + message.subject


@pytest.mark.django_db
def test_the_job_leaves_the_active_language_as_it_was():
    from django.utils import translation

    pledge_with_plan(donor=DonorFactory(language="ru"))
    with translation.override("en"):
        run(7)
        assert translation.get_language() == "en"


# --- What the message says -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_message_gives_the_reference_the_status_link_and_the_bank_instructions(settings):
    settings.FUND_BANK_ACCOUNT = {**settings.FUND_BANK_ACCOUNT, "iban": "US00TEST0000000000", "swift": "TESTUS33"}
    pledge = pledge_with_plan(donor=DonorFactory(name="Kingdom of Norway", contact_name="Ms Ingrid Berg"))

    run(-14)

    body = mail.outbox[0].body
    assert "Dear Ms Ingrid Berg," in body
    assert reference_for_print(pledge.reference) in body
    assert reference_for_print(pledge.reference) in mail.outbox[0].subject
    assert f"https://pledges.example.org/api/v1/pledges/status/{pledge.status_secret}/" in body
    assert "IBAN: US00TEST0000000000" in body
    assert "SWIFT/BIC: TESTUS33" in body
    assert f"Reference: {reference_for_print(pledge.reference)}" in body
    assert "{%" not in body
    assert "{{" not in body


@pytest.mark.django_db
def test_card_pledges_get_no_bank_instructions():
    pledge_with_plan(payment_method=PaymentMethod.CARD)

    run(-14)

    assert "SWIFT" not in mail.outbox[0].body


@pytest.mark.django_db
def test_amounts_use_the_currencys_minor_units():
    pledge_with_plan((DUE, "5000000"), currency="JPY", amount_usd=None, usd_rate=None)

    run(7)

    assert "Still to pay: ¥5,000,000" in mail.outbox[0].body


# --- Never twice ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_running_the_job_twice_sends_nothing_the_second_time():
    pledge_with_plan()
    pledge_with_plan(status=PledgeStatus.ANNOUNCED)

    first = run(7)
    second = run(7)

    assert len(first["sent"]) == 2
    assert second["sent"] == []
    assert second["candidates"] == 0
    assert len(mail.outbox) == 2
    assert ReminderStep.objects.count() == 2


@pytest.mark.django_db
def test_an_email_that_fails_is_not_recorded_and_goes_next_time(monkeypatch):
    pledge = pledge_with_plan()

    def refuse(message, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    with monkeypatch.context() as patch:
        # The mail server hangs up (the message is built; sending fails).
        patch.setattr(EmailMessage, "send", refuse)
        report = run(7)

    assert report["sent"] == []
    assert [(line["reason"], line["detail"]) for line in report["skipped"]] == [
        ("send_failed", "SMTPServerDisconnected")
    ]
    assert not ReminderStep.objects.exists()
    assert not AuditEvent.objects.filter(action="pledge.reminder.sent").exists()

    run(8)

    assert steps_sent(pledge) == [7]
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_at_once_send_each_step_exactly_once(postgres_only):
    pledges = [pledge_with_plan() for _ in range(6)]
    reports = run_at_once(*[lambda: run(7)] * 4)

    assert len(mail.outbox) == len(pledges)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.donor.email for p in pledges)
    assert sum(len(report["sent"]) for report in reports) == len(pledges)
    assert ReminderStep.objects.count() == len(pledges)
    assert AuditEvent.objects.filter(action="pledge.reminder.sent").count() == len(pledges)


# --- Report, audit, task --------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_reminder_is_audited_without_the_email_address():
    pledge = pledge_with_plan(donor=DonorFactory(email="treasury@example.org", language="es"))

    run(7)

    event = AuditEvent.objects.get(action="pledge.reminder.sent")
    reminder = ReminderStep.objects.get()
    assert event.pledge == pledge
    assert (event.actor_kind, event.actor_label) == ("task", "reminders_send")
    assert (event.object_type, event.object_id) == ("reminderstep", str(reminder.pk))
    assert event.new_values == {
        "instalment_id": reminder.instalment_id,
        "due_date": "2026-06-01",
        "days_from_due": 7,
        "amount_outstanding": "1000.00",
        "language": "es",
    }
    assert "treasury@example.org" not in json.dumps([event.old_values, event.new_values, event.reason])


@pytest.mark.django_db
def test_the_report_counts_the_overdue_instalments_as_the_staff_list_flags_them():
    today = DUE + timedelta(days=7)
    pledge_with_plan((DUE, "400.00"), (DUE + timedelta(days=3), "600.00"))  # both overdue
    pledge_with_plan((DUE, "400.00"), (DUE + timedelta(days=3), "600.00"), amount_paid="400.00")  # one overdue
    pledge_with_plan(status=PledgeStatus.SUBMITTED)  # overdue, though not reminded
    pledge_with_plan(status=PledgeStatus.LAPSED)  # closed
    pledge_with_plan(status=PledgeStatus.PAID, amount_paid="1000.00")
    pledge_with_plan((DUE + timedelta(days=7), "1000.00"))  # due today: not yet overdue

    report = reminders.reminders_send(today=today)

    assert report["overdue_instalments"] == 4
    assert report["overdue_pledges"] == 3 == pledges_for_staff(today=today).filter(overdue=True).count()
    assert report["today"] == "2026-06-08"


@pytest.mark.django_db
def test_a_run_with_nothing_to_send_costs_two_queries(django_assert_num_queries):
    for offset in range(20):
        pledge_with_plan((DUE + timedelta(days=100 + offset), "1000.00"))  # not due for months
        pledge_with_plan(status=PledgeStatus.PAID, amount_paid="1000.00")

    with django_assert_num_queries(2):
        report = run(0)

    assert report["candidates"] == 0


@pytest.mark.django_db
def test_the_task_runs_the_job_for_today():
    today = timezone.localdate()
    pledge = pledge_with_plan((today - timedelta(days=7), "1000.00"))

    report = tasks.reminders_send.delay().get()

    assert report["today"] == today.isoformat()
    assert steps_sent(pledge) == [7]


# --- The staff history ---------------------------------------------------------------------------------


def list_reminders(user, **params):
    request = APIRequestFactory().get("/api/v1/reminders/", params)
    if user is not None:
        force_authenticate(request, user=user)
    response = ReminderCollection.as_view()(request)
    response.render()
    return response


@pytest.mark.django_db
def test_viewers_see_the_reminder_history(viewer):
    pledge = pledge_with_plan(donor=DonorFactory(name="Republic of Belarus", email="mission@example.by", language="ru"))
    run(-14)
    run(7)

    response = list_reminders(viewer)

    assert response.status_code == 200
    body = response.data
    assert body["count"] == 2
    newest = body["results"][0]
    assert set(newest) == {
        "id",
        "pledge",
        "donor",
        "due_date",
        "amount",
        "currency",
        "days_from_due",
        "sent_at",
        "recipient",
        "language",
    }
    assert newest["pledge"] == pledge.reference
    assert newest["donor"] == "Republic of Belarus"
    assert newest["due_date"] == "2026-06-01"
    assert (newest["amount"], newest["currency"]) == ("1000.00", "USD")
    assert newest["days_from_due"] == 7
    assert newest["recipient"] == "mission@example.by"
    assert newest["language"] == "ru"
    assert [r["days_from_due"] for r in body["results"]] == [7, -14]


@pytest.mark.django_db
def test_the_history_filters_by_pledge_and_by_when_it_was_sent(viewer):
    first = pledge_with_plan()
    second = pledge_with_plan()
    run(-14)
    ReminderStep.objects.filter(instalment__pledge=first).update(sent_at=timezone.now() - timedelta(days=10))

    by_pledge = list_reminders(viewer, pledge=reference_for_print(second.reference).lower()).data
    recent = list_reminders(viewer, sent_from=(timezone.now() - timedelta(days=1)).isoformat()).data
    older = list_reminders(viewer, sent_until=(timezone.now() - timedelta(days=5)).isoformat()).data

    assert [r["pledge"] for r in by_pledge["results"]] == [second.reference]
    assert [r["pledge"] for r in recent["results"]] == [second.reference]
    assert [r["pledge"] for r in older["results"]] == [first.reference]


@pytest.mark.django_db
def test_the_history_refuses_anonymous_and_roleless_users(outsider):
    assert list_reminders(None).status_code == 401
    assert list_reminders(outsider).status_code == 403


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_wired_at_its_url_the_history_answers_with_token_auth(client_for, viewer, outsider):
    pledge_with_plan()
    run(-14)

    assert client_for(viewer).get("/api/v1/reminders/").json()["count"] == 1
    assert client_for(None).get("/api/v1/reminders/").status_code == 401
    assert client_for(outsider).get("/api/v1/reminders/").status_code == 403


@pytest.mark.django_db
def test_the_schema_documents_it_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=urlpatterns[:1]).get_schema(request=None, public=True)

    assert not GENERATOR_STATS, "drf-spectacular warned (see stderr)"
    validate_schema(schema)
    operation = schema["paths"]["/api/v1/reminders/"]["get"]
    assert operation["operationId"] == "reminder_list"
    assert operation["tags"] == ["staff: reconciliation"]
    assert {"pledge", "sent_from", "sent_until", "page", "page_size"} <= {p["name"] for p in operation["parameters"]}
    assert {"200", "401", "403"} <= set(operation["responses"])
