"""Staff enter the UN operational rates of exchange, one by one or from a
CSV file. When a rate arrives, the USD values that waited for it are
computed, and the pledges' totals follow."""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from pledges.audit import Actor, audit_record
from pledges.errors import InvalidInput
from pledges.exchange import convert_to_usd
from pledges.models import ExchangeRate, Payment, Pledge
from pledges.money import RATE_DECIMALS, USD, CurrencyError, currency_minor_units
from pledges.payments.services import pledge_money_refresh
from pledges.services import pledge_usd_value_set

ZERO_RATE = Decimal(0)
MAX_RATE = Decimal("100000000")
CSV_COLUMNS = ("currency", "rate", "valid_from")
MAX_CSV_ROWS = 10_000


def exchange_rate_errors(currency: str, rate: Decimal, valid_from: date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        currency_minor_units(currency)
    except CurrencyError as error:
        errors["currency"] = [str(error)]
    else:
        if currency == USD:
            errors["currency"] = ["USD is the unit of account; it has no rate."]
    if not ZERO_RATE < rate < MAX_RATE:
        errors["rate"] = [f"The rate (units per USD) must be more than zero and less than {MAX_RATE:,}."]
    elif rate != rate.quantize(Decimal(1).scaleb(-RATE_DECIMALS)):
        errors["rate"] = [f"At most {RATE_DECIMALS} decimal places."]
    if valid_from > timezone.localdate() + timedelta(days=366):
        errors["valid_from"] = ["More than a year ahead: check the date."]
    return errors


@dataclass
class RateOutcome:
    rate: ExchangeRate
    outcome: str  # "added", "changed" or "unchanged"
    previous: Decimal | None = None


def exchange_rate_set(*, currency: str, rate: Decimal, valid_from: date, actor: Actor) -> RateOutcome:
    """Add a rate, or change the one for that currency and date, then
    compute the USD values it affects. Raises InvalidInput."""
    currency = currency.upper()
    errors = exchange_rate_errors(currency, rate, valid_from)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        row = ExchangeRate.objects.select_for_update().filter(currency=currency, valid_from=valid_from).first()
        if row is not None and row.rate == rate:
            return RateOutcome(rate=row, outcome="unchanged")
        previous = row.rate if row else None
        if row is None:
            row = ExchangeRate.objects.create(currency=currency, rate=rate, valid_from=valid_from)
        else:
            row.rate = rate
            row.save(update_fields=["rate"])
        audit_record(
            actor=actor,
            action="exchange_rate.changed" if previous is not None else "exchange_rate.added",
            obj=row,
            old={"rate": str(previous)} if previous is not None else {},
            new={"currency": currency, "rate": str(rate), "valid_from": valid_from},
        )
        usd_values_refresh(currency=currency, valid_from=valid_from, actor=actor)
    return RateOutcome(rate=row, outcome="changed" if previous is not None else "added", previous=previous)


def _rate_period_end(currency: str, valid_from: date) -> date | None:
    """The day the next rate of the currency takes over, if any."""
    following = ExchangeRate.objects.filter(currency=currency, valid_from__gt=valid_from).order_by("valid_from").first()
    return following.valid_from if following else None


def usd_values_refresh(*, currency: str, valid_from: date, actor: Actor) -> int:
    """Recompute the USD values a rate governs: pledges and payments in the
    currency whose date falls in the rate's period and whose value is not
    fixed (payments that waited for a rate; pledges not yet confirmed, or
    confirmed while the rate was missing). Returns how many pledges
    changed; each change is audited."""
    until = _rate_period_end(currency, valid_from)

    def in_period(date_field: str) -> Q:
        period = Q(**{f"{date_field}__gte": valid_from})
        return period & Q(**{f"{date_field}__lt": until}) if until else period

    touched: set[int] = set()
    payments = Payment.objects.filter(currency=currency, amount_usd__isnull=True, reverses__isnull=True).filter(
        in_period("received_on")
    )
    for payment in payments.select_related("pledge"):
        usd = convert_to_usd(payment.amount, payment.currency, payment.received_on)
        fee = convert_to_usd(payment.fee, payment.currency, payment.received_on)
        # The rate from `valid_from` covers every day of its period.
        assert usd is not None and fee is not None
        Payment.objects.filter(pk=payment.pk).update(
            usd_rate=usd.rate, amount_usd=usd.amount_usd, fee_usd=fee.amount_usd
        )
        # A reversing entry carries the opposite sign.
        Payment.objects.filter(reverses=payment).update(
            usd_rate=usd.rate, amount_usd=-usd.amount_usd, fee_usd=-fee.amount_usd
        )
        touched.add(payment.pledge_id)

    unfixed = Q(usd_rate_fixed=False) & (
        (Q(confirmed_on__isnull=True) & in_period("pledged_on"))
        | (Q(confirmed_on__isnull=False) & in_period("confirmed_on"))
    )
    changed = 0
    for pledge_id in Pledge.objects.filter((Q(currency=currency) & unfixed) | Q(pk__in=touched)).values_list(
        "pk", flat=True
    ):
        pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
        before = (pledge.amount_usd, pledge.amount_received_usd)
        if not pledge.usd_rate_fixed:
            pledge_usd_value_set(pledge, on=pledge.valuation_date)
            pledge.usd_rate_fixed = pledge.confirmed_on is not None and pledge.amount_usd is not None
            pledge.save(update_fields=["amount_usd", "usd_rate", "usd_rate_date", "usd_rate_fixed"])
        if pledge_id in touched:
            pledge_money_refresh(pledge, money_arrived=False, actor=actor)
        if (pledge.amount_usd, pledge.amount_received_usd) != before:
            changed += 1
            audit_record(
                actor=actor,
                action="pledge.usd_value.computed",
                obj=pledge,
                old={"amount_usd": before[0], "amount_received_usd": before[1]},
                new={
                    "amount_usd": pledge.amount_usd,
                    "amount_received_usd": pledge.amount_received_usd,
                    "usd_rate": pledge.usd_rate,
                },
                reason=f"{currency} rate from {valid_from}",
            )
    return changed


@dataclass
class ImportReport:
    added: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)


def exchange_rates_import(*, content: bytes, actor: Actor) -> ImportReport:
    """Import rates from CSV with the header `currency,rate,valid_from`
    (dates as YYYY-MM-DD, rates with a decimal point). Each good line is
    added or changes the rate for its date; each bad line is refused and
    reported with its line number and why. The good lines are applied
    together in one transaction."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput({"file": ["The file is not UTF-8 text."]}) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not set(CSV_COLUMNS) <= set(header):
        raise InvalidInput({"file": [f"The first line must name the columns {', '.join(CSV_COLUMNS)}."]})
    reader.fieldnames = header

    report = ImportReport()
    with transaction.atomic():
        for count, row in enumerate(reader, start=1):
            line_number = reader.line_num  # the file's own line, blank lines included
            if count > MAX_CSV_ROWS:
                raise InvalidInput({"file": [f"At most {MAX_CSV_ROWS} rates per file."]})
            line = {name: (row.get(name) or "").strip() for name in CSV_COLUMNS}
            currency, rate, valid_from, errors = _parse_rate_line(line)
            if not errors:
                errors = exchange_rate_errors(currency, rate, valid_from)
            if errors:
                report.refused.append({"line": line_number, **line, "errors": errors})
                continue
            outcome = exchange_rate_set(currency=currency, rate=rate, valid_from=valid_from, actor=actor)
            entry = {"line": line_number, "currency": currency, "rate": str(rate), "valid_from": valid_from.isoformat()}
            if outcome.outcome == "changed":
                entry["previous_rate"] = str(outcome.previous)
            getattr(report, outcome.outcome).append(entry)
    return report


def _parse_rate_line(line: dict) -> tuple[str, Decimal, date, dict]:
    errors: dict[str, list[str]] = {}
    currency = line["currency"].upper()
    try:
        rate = Decimal(line["rate"])
        if not rate.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        rate = Decimal(0)
        errors["rate"] = [f"{line['rate']!r} is not a decimal number."]
    try:
        valid_from = parse_date(line["valid_from"])
    except ValueError:
        valid_from = None
    if valid_from is None:
        errors["valid_from"] = [f"{line['valid_from']!r} is not a date (YYYY-MM-DD)."]
        valid_from = date.min
    return currency, rate, valid_from, errors
