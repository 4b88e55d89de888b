from django.urls import path

from pledges.iati import views

urlpatterns = [
    path("activities.xml", views.IatiActivitiesView.as_view(), name="iati-activities"),
]
