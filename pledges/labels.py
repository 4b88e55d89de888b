"""What people read for the codes the data holds (donor types, earmarks,
statuses, payment methods), in the active language. Donor types and
earmarks are content staff edit (`ChoiceLabel`, six languages through
django-modeltranslation); the gettext messages here are their defaults
and the words for everything else (catalogues under pledges/locale/)."""

from django.utils.translation import gettext_lazy, pgettext_lazy

from pledges.models import ChoiceLabel, DonorType, Earmark, PaymentMethod, PledgeStatus

DONOR_TYPE_LABELS = {
    DonorType.MEMBER_STATE: gettext_lazy("Member State"),
    DonorType.OBSERVER_STATE: gettext_lazy("Observer State"),
    DonorType.INTERGOVERNMENTAL: gettext_lazy("Intergovernmental organization"),
    DonorType.UN_ENTITY: gettext_lazy("United Nations entity"),
    DonorType.PRIVATE_SECTOR: gettext_lazy("Private sector"),
    DonorType.FOUNDATION: gettext_lazy("Foundation"),
    DonorType.CIVIL_SOCIETY: gettext_lazy("Civil society"),
    DonorType.INDIVIDUAL: gettext_lazy("Individual"),
}

EARMARK_LABELS = {
    Earmark.UNRESTRICTED: gettext_lazy("Unrestricted"),
    Earmark.CHILDREN: gettext_lazy("Assistance to trafficked children"),
    Earmark.WOMEN_AND_GIRLS: gettext_lazy("Assistance to trafficked women and girls"),
    Earmark.DIRECT_ASSISTANCE: gettext_lazy("Direct assistance to victims through grants to NGOs"),
}

STATUS_WORDS = {
    PledgeStatus.SUBMITTED: pgettext_lazy("pledge status", "Received, waiting for the Fund to verify it"),
    PledgeStatus.ANNOUNCED: pgettext_lazy("pledge status", "Announced"),
    PledgeStatus.CONFIRMED: pgettext_lazy("pledge status", "Confirmed"),
    PledgeStatus.PARTIALLY_PAID: pgettext_lazy("pledge status", "Partially paid"),
    PledgeStatus.PAID: pgettext_lazy("pledge status", "Paid"),
    PledgeStatus.CANCELLED: pgettext_lazy("pledge status", "Cancelled"),
    PledgeStatus.LAPSED: pgettext_lazy("pledge status", "Lapsed"),
}

PAYMENT_METHOD_LABELS = {
    PaymentMethod.CARD: gettext_lazy("Card"),
    PaymentMethod.BANK_TRANSFER: gettext_lazy("Bank transfer"),
    PaymentMethod.OTHER: gettext_lazy("Other"),
}


def label(labels: dict, value: str) -> str:
    return str(labels.get(value, value))


def choice_labels(kind: str) -> dict[str, str]:
    """{code: label} for donor types or earmarks in the active language:
    the staff's text (English where a translation is missing), else the
    catalogue's."""
    defaults = DONOR_TYPE_LABELS if kind == ChoiceLabel.Kind.DONOR_TYPE else EARMARK_LABELS
    stored = {row.value: row.text for row in ChoiceLabel.objects.filter(kind=kind)}
    return {value: stored.get(value) or str(text) for value, text in defaults.items()}
