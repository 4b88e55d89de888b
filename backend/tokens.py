"""Staff API tokens (django-rest-knox): a password (and the TOTP code for
staff who have a device) for a token that expires; only its digest is stored,
and it can be revoked."""

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.views import LogoutAllView, LogoutView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.problems import DecimalJSONParser, LimitedFormParser
from backend.security import lockout_response, otp_required_for, staff_totp_device
from backend.throttles import SlidingWindowThrottle
from pledges.errors import InvalidInput


class LoginThrottle(SlidingWindowThrottle):
    """Password guessing is slowed per address (and locked out per account
    and address by django-axes)."""

    scope = "login"

    def get_rate(self) -> str:
        return settings.AUTH_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False, style={"input_type": "password"})
    otp_token = serializers.RegexField(
        r"^[0-9]{6,8}$", required=False, help_text="The TOTP code, for staff who enrolled a device"
    )


TOKEN_RESPONSE = inline_serializer(
    "AuthToken",
    {
        "token": serializers.CharField(help_text='Send as "Authorization: Token <token>"'),
        "expiry": serializers.DateTimeField(allow_null=True),
    },
)


class TokenObtainView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]
    parser_classes = [DecimalJSONParser, LimitedFormParser]
    max_body_bytes = settings.AUTH_MAX_BODY_BYTES

    @extend_schema(
        operation_id="auth_token_obtain",
        summary="Exchange a staff username and password (and TOTP code) for an API token that expires",
        request=TokenRequestSerializer,
        responses={200: TOKEN_RESPONSE},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response | HttpResponse:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The Django request, so that django-axes records the attempt on it.
        django_request = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if user is None:
            if getattr(django_request, "axes_locked_out", False):
                return lockout_response(django_request)
            raise InvalidInput({"non_field_errors": ["Unable to sign in with these credentials."]})
        if otp_required_for(user):
            device = staff_totp_device(user)
            if device is None or not data.get("otp_token") or not device.verify_token(data["otp_token"]):
                user_login_failed.send(
                    sender=__name__, credentials={"username": data["username"]}, request=django_request
                )
                raise InvalidInput({"otp_token": ["A valid code from your authenticator app is required."]})
        now_valid = AuthToken.objects.filter(user=user).exclude(expiry__lt=timezone.now())
        limit = knox_settings.TOKEN_LIMIT_PER_USER
        if limit is not None and now_valid.count() >= limit:
            # The oldest goes, so a script that signs in often never locks itself out.
            now_valid.order_by("created").first().delete()
        instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        return Response({"token": token, "expiry": instance.expiry})


def revoke_schema(operation_id: str, summary: str):
    """The schema of a knox logout view's POST (no body in, 204 out): the
    views below are knox's own, documented."""
    responses = {204: OpenApiResponse(description="Revoked")}
    return extend_schema_view(
        post=extend_schema(operation_id=operation_id, summary=summary, request=None, responses=responses, tags=["auth"])
    )


@revoke_schema("auth_token_revoke", "Revoke the token this request is signed with")
class TokenRevokeView(LogoutView):
    pass


@revoke_schema("auth_token_revoke_all", "Revoke every token of the signed-in user")
class TokenRevokeAllView(LogoutAllView):
    pass
