"""``POST /api/v1/auth/token/``: a username and password for the user's API token, so that
a script needs no trip through the admin. Failed attempts count against the same budget as
the admin sign-in (``registry.login_throttle``): one budget of guesses, not two."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.api.fields import StrictCharField
from registry.login_throttle import sign_in_failed, sign_in_locked


class TokenRequestSerializer(serializers.Serializer[Any]):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer[Any]):
    token = StrictCharField(help_text="Send it as `Authorization: Token <token>`.")


class TokenView(APIView):
    """Exchange a username and password for the user's API token (the same token on
    every call until an admin deletes it)."""

    permission_classes = [AllowAny]
    # Credentials are in the body; a session or a token would say nothing here.
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Get an API token",
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Unknown user name or wrong password."),
            429: OpenApiResponse(description="Too many failed sign-ins; see `Retry-After`."),
        },
        examples=[
            OpenApiExample(
                "Demo analyst",
                {"username": "analyst", "password": "demo-registry-2026"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username, password = body.validated_data["username"], body.validated_data["password"]
        client = request._request
        if sign_in_locked(client, username):
            raise Throttled(
                wait=settings.ADMIN_LOGIN_WINDOW_SECONDS, detail="Too many failed sign-ins."
            )
        user = authenticate(client, username=username, password=password)
        if user is None or not user.is_active:
            sign_in_failed(client, username)
            raise ValidationError({"non_field_errors": ["Unknown user name or wrong password."]})
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
