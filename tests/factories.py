"""factory_boy factories for bulk and incidental data. Rows made here skip
the services on purpose: they set up a state, the test then exercises the
service or endpoint under test."""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone

from pledges.models import (
    Campaign,
    Donor,
    DonorType,
    ExchangeRate,
    Payment,
    PaymentMethod,
    Pledge,
    PledgeSource,
    PledgeStatus,
)
from pledges.references import reference_new


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    slug = factory.Sequence(lambda n: f"campaign-{n}")
    title = factory.Sequence(lambda n: f"Campaign {n}")
    goal_usd = Decimal("1000000.00")
    starts_on = date(2012, 4, 3)


class DonorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Donor

    name = factory.Sequence(lambda n: f"Donor {n}")
    donor_type = DonorType.MEMBER_STATE
    country = "NO"
    email = factory.Sequence(lambda n: f"donor{n}@example.org")


class PledgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pledge

    reference = factory.LazyFunction(reference_new)
    donor = factory.SubFactory(DonorFactory)
    campaign = factory.LazyFunction(lambda: Campaign.objects.get(slug="vtf-2012"))
    source = PledgeSource.FLOOR
    status = PledgeStatus.CONFIRMED
    payment_method = PaymentMethod.BANK_TRANSFER
    amount = Decimal("1000.00")
    currency = "USD"
    amount_usd = factory.LazyAttribute(lambda p: p.amount if p.currency == "USD" else None)
    usd_rate = factory.LazyAttribute(lambda p: Decimal(1) if p.currency == "USD" else None)
    pledged_on = factory.LazyFunction(timezone.localdate)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    pledge = factory.SubFactory(PledgeFactory)
    method = PaymentMethod.BANK_TRANSFER
    amount = Decimal("100.00")
    currency = "USD"
    amount_applied = factory.LazyAttribute(lambda p: p.amount)
    amount_usd = factory.LazyAttribute(lambda p: p.amount if p.currency == "USD" else None)
    received_on = factory.LazyFunction(timezone.localdate)
    external_reference = factory.Sequence(lambda n: f"BANKREF{n:06d}")


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate

    currency = "EUR"
    rate = Decimal("0.92")
    valid_from = date(2012, 1, 1)
