from django.urls import path

from pledges.widget import views

app_name = "widget"

urlpatterns = [
    path("", views.demo, name="demo"),
    path("v1/totals.js", views.totals_script, name="totals-js"),
    path("v1/totals/", views.totals_frame, name="totals-frame"),
    path("v1/figures.json", views.figures_document, name="figures"),
]
