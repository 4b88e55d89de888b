from django.urls import path

from pledges import api

urlpatterns = [
    path("pledges/", api.PledgeCollection.as_view(), name="pledge-collection"),
    path("pledges/status/<str:secret>/", api.PledgeStatusView.as_view(), name="pledge-status"),
    path("public/totals/", api.PublicTotalsView.as_view(), name="public-totals"),
    path("public/pledges/", api.PublicPledgesView.as_view(), name="public-pledges"),
]
