"""The pledge form at /pledge/ (language from Accept-Language) and
/<lang>/pledge/ for ar, zh, en, fr, ru, es; the confirmation page under
/<lang>/pledge/done/<secret>/."""

from django.urls import path, re_path

from pledges.web import views

LANG = r"(?P<lang>ar|zh|en|fr|ru|es)"

urlpatterns = [
    path("pledge/", views.pledge_form, name="pledge-web-form"),
    re_path(rf"^{LANG}/pledge/$", views.pledge_form, name="pledge-web-form-lang"),
    re_path(rf"^{LANG}/pledge/done/(?P<secret>[A-Za-z0-9_-]{{20,100}})/$", views.pledge_done, name="pledge-web-done"),
]
