"""The front page at / and /<lang>/; the pledge form at /pledge/ (language from Accept-Language) and
/<lang>/pledge/ for ar, zh, en, fr, ru, es; the confirmation page under
/<lang>/pledge/done/<secret>/."""

from django.urls import path, re_path

from pledges.web import front, views

LANG = r"(?P<lang>ar|zh|en|fr|ru|es)"

urlpatterns = [
    path("", front.front_page, name="front-page"),
    re_path(rf"^{LANG}/$", front.front_page, name="front-page-lang"),
    path("pledge/", views.pledge_form, name="pledge-web-form"),
    re_path(rf"^{LANG}/pledge/$", views.pledge_form, name="pledge-web-form-lang"),
    re_path(rf"^{LANG}/pledge/done/(?P<secret>[A-Za-z0-9_-]{{20,100}})/$", views.pledge_done, name="pledge-web-done"),
]
