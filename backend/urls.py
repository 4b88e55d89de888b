from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import SimpleRateThrottle

from backend.views import health


class LoginThrottle(SimpleRateThrottle):
    """Password guessing is slowed per address."""

    scope = "login"

    def get_rate(self) -> str:
        return settings.AUTH_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenObtainView(ObtainAuthToken):
    throttle_classes = [LoginThrottle]

    @extend_schema(
        operation_id="auth_token_obtain",
        summary="Exchange a staff username and password for an API token",
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("api/v1/", include("pledges.urls")),
    path("api/v1/", include("reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("health/", health, name="health"),
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
