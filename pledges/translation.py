"""The content staff write that people read in six languages: campaign,
event and session titles (django-modeltranslation adds title_en, title_ar,
title_zh_hans, title_fr, title_ru and title_es; `title` reads the active
language's, falling back to English)."""

from modeltranslation.translator import TranslationOptions, register

from pledges.models import Campaign, Event, EventSession


@register(Campaign)
class CampaignTranslation(TranslationOptions):
    fields = ("title",)
    required_languages = ("en",)


@register(Event)
class EventTranslation(TranslationOptions):
    fields = ("title",)
    required_languages = ("en",)


@register(EventSession)
class EventSessionTranslation(TranslationOptions):
    fields = ("title",)
    required_languages = ("en",)
