"""/board/<campaign>/ (language from Accept-Language) and
/<lang>/board/<campaign>/ in ar, zh, en, fr, ru, es; the document the page
polls at /<lang>/board/<campaign>/live.json."""

from django.urls import path, re_path

from pledges.board import views

LANG = r"(?P<lang>ar|zh|en|fr|ru|es)"
SLUG = r"(?P<slug>[-a-zA-Z0-9_]{1,64})"

urlpatterns = [
    path("board/<slug:slug>/", views.board, name="board"),
    re_path(rf"^{LANG}/board/{SLUG}/$", views.board, name="board-lang"),
    re_path(rf"^{LANG}/board/{SLUG}/live\.json$", views.board_live, name="board-live"),
]
