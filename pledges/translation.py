"""The content staff write that people read in six languages: campaign,
event and session titles, donor type and earmark labels (django-modeltranslation adds title_en, title_ar,
title_zh_hans, title_fr, title_ru and title_es; `title` reads the active
language's, falling back to English)."""

from django.conf import settings
from modeltranslation.translator import TranslationOptions, register

from pledges.models import Campaign, ChoiceLabel, Event, EventSession

LANGUAGES = [code for code, _ in settings.LANGUAGES]


@register([Campaign, Event, EventSession])
class TitleTranslation(TranslationOptions):
    fields = ("title",)
    required_languages = ("en",)


@register(ChoiceLabel)
class ChoiceLabelTranslation(TranslationOptions):
    fields = ("text",)
    required_languages = ("en",)


def titles_by_language(obj) -> dict[str, str]:
    """{language: title} for the six languages, English where one is missing
    (for documents built once and rendered in each language: reports)."""
    english = getattr(obj, "title_en", None) or obj.title
    return {code: getattr(obj, f"title_{code.replace('-', '_')}", None) or english for code in LANGUAGES}
