from django.contrib import admin
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken

from backend.views import health

token_obtain = extend_schema(
    operation_id="auth_token_obtain", summary="Exchange a staff username and password for an API token", tags=["auth"]
)(ObtainAuthToken).as_view()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", token_obtain, name="auth-token"),
    path("api/v1/", include("pledges.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("health/", health, name="health"),
]

handler400 = "backend.problems.bad_request"
handler403 = "backend.problems.permission_denied"
handler404 = "backend.problems.not_found"
handler500 = "backend.problems.server_error"
