from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend.security import OptionalOTPAdminSite
from backend.tokens import TokenObtainView, TokenRevokeAllView, TokenRevokeView
from backend.views import health, health_live

# The admin asks staff who enrolled a TOTP device for their code (django-otp's
# documented way of swapping the site class, so every registration stays).
admin.site.__class__ = OptionalOTPAdminSite

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("api/v1/auth/token/revoke/", TokenRevokeView.as_view(), name="auth-token-revoke"),
    path("api/v1/auth/token/revoke-all/", TokenRevokeAllView.as_view(), name="auth-token-revoke-all"),
    path("api/v1/", include("pledges.urls")),
    path("api/v1/", include("reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file, so the nonce CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("health/", health, name="health"),
    path("health/ready/", health, name="health-ready"),
    path("health/live/", health_live, name="health-live"),
    path("widget/", include("pledges.widget.urls")),
    path("", include("pledges.web.urls")),
    # Issue 16: the live pledge board and the IATI activity file.
    path("", include("pledges.board.urls")),
    path("api/v1/public/iati/", include("pledges.iati.urls")),
]

handler400 = "backend.problems.bad_request"
handler403 = "backend.problems.permission_denied"
handler404 = "backend.problems.not_found"
handler500 = "backend.problems.server_error"
