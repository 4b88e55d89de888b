from django.urls import path

from reports import api

urlpatterns = [
    path("reports/", api.ReportCollection.as_view(), name="report-collection"),
    path("reports/<int:pk>/", api.ReportDetailView.as_view(), name="report-detail"),
    path("reports/<int:pk>/publish/", api.ReportPublishView.as_view(), name="report-publish"),
    path("reports/<int:pk>/files/<str:name>", api.ReportFileView.as_view(), name="report-file"),
    path("public/reports/", api.PublicReportList.as_view(), name="public-report-list"),
    path("public/reports/feed.atom", api.PublishedReportsFeed(), name="public-report-feed"),
    path("public/reports/<int:pk>/files/<str:name>", api.PublicReportFileView.as_view(), name="public-report-file"),
]
