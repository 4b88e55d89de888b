"""E-mails to donors in their language: the acknowledgement, the reminders
and the thank-you when money arrives; subject and body translated, money
and dates as that language writes them, an HTML part next to the text."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from pledges.audit import Actor
from pledges.models import AuditEvent, Instalment, PaymentMethod, PledgeStatus
from pledges.payments.services import PaymentDetails, payment_record
from pledges.reconciliation import reminders
from pledges.references import reference_for_print
from pledges.services import payment_thank_send, pledge_acknowledge_send
from tests.conftest import pledge_body
from tests.factories import DonorFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def html_part(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_an_arabic_donor_is_acknowledged_in_arabic(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/pledges/", pledge_body(language="ar"), format="json").json()

    [message] = mail.outbox
    printed = reference_for_print(created["reference"])
    assert message.subject == f"تعهدك لصندوق الأمم المتحدة الاستئماني لضحايا الاتجار ({printed})"
    assert message.extra_headers["Content-Language"] == "ar"
    body = message.body
    assert body.startswith("Kingdom of Norway المحترم/المحترمة،")
    assert "نشكرك على تعهدك بمبلغ \u2067\u200f250,000.00\xa0\u2066US$\u2069\u2069" in body
    assert "250000.00 USD" not in body  # the raw amount
    assert "تعهدات عام 2012" in body  # the Arabic campaign title
    assert "?lang=ar" in body  # the status link opens in Arabic
    assert "للدفع بالتحويل المصرفي:" in body and "CHASUS33" in body
    html = html_part(message)
    assert '<html lang="ar" dir="rtl">' in html
    assert "mission@example.org" not in body + html  # no personal data beyond the name


def test_a_chinese_donor_is_reminded_in_chinese():
    donor = DonorFactory(name="中华人民共和国", language="zh-hans", country="CN", email="mission@example.cn")
    pledge = PledgeFactory(donor=donor, amount=Decimal("5000000"), currency="JPY", status=PledgeStatus.CONFIRMED)
    Instalment.objects.create(pledge=pledge, due_date=date(2027, 3, 1), amount=Decimal("5000000"))

    reminders.reminders_send(today=date(2027, 3, 8))

    [message] = mail.outbox
    printed = reference_for_print(pledge.reference)
    assert message.subject == f"逾期：您的认捐 {printed} 有一期款项已于 2027年3月1日 到期"
    assert "尊敬的 中华人民共和国：" in message.body
    assert "已于 2027年3月1日 到期，基金尚未全额收到" in message.body
    assert "尚待支付： JP¥5,000,000" in message.body or "尚待支付：JP¥5,000,000" in message.body
    assert "2027-03-01" not in message.body
    html = html_part(message)
    assert '<html lang="zh-hans" dir="ltr">' in html
    assert "<bdi>JP¥5,000,000</bdi>" in html


def test_money_arriving_thanks_the_donor_once_in_their_language(django_capture_on_commit_callbacks):
    donor = DonorFactory(name="République française", language="fr", country="FR")
    pledge = PledgeFactory(donor=donor, amount=Decimal("1000000.00"), currency="EUR", amount_usd=None)
    details = PaymentDetails(
        amount=Decimal("400000.00"),
        currency="EUR",
        received_on=date.today() - timedelta(days=1),
        method=PaymentMethod.BANK_TRANSFER,
        bank_reference="THANKS-1",
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(pledge=pledge, details=details, actor=Actor.system("test"))

    [message] = mail.outbox
    assert (
        message.subject
        == f"Nous avons reçu votre paiement pour la contribution {reference_for_print(pledge.reference)}"
    )
    assert "votre paiement de 400\u202f000,00\xa0€" in message.body
    assert "Reste à payer : 600\u202f000,00\xa0€" in message.body
    assert "<bdi>600\u202f000,00\xa0€</bdi>" in html_part(message)
    payment.refresh_from_db()
    assert payment.thanked_at is not None
    assert AuditEvent.objects.filter(action="pledge.thanks.sent", object_id=str(payment.pk)).count() == 1

    assert payment_thank_send(payment_id=payment.pk) is False  # a retried task sends nothing more
    assert len(mail.outbox) == 1


def test_the_acknowledgement_falls_back_to_english_for_an_unknown_language():
    pledge = PledgeFactory(donor=DonorFactory(language="de"), currency="KWD", amount=Decimal("14000.000"))

    assert pledge_acknowledge_send(pledge_id=pledge.pk) is True

    [message] = mail.outbox
    assert message.subject.startswith("Your pledge to the UN Trust Fund for Victims of Trafficking")
    assert "Thank you for your pledge of KWD14,000.000" in message.body
