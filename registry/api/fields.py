"""Text fields that take text only. DRF's CharField turns a JSON number into its digits
(``{"statement": 0}`` saves "0"), so a client's type error passes unseen; here it is a
400 naming the field. Form bodies are text anyway and pass as before."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSlugField(StrictCharField, serializers.SlugField):
    pass


class RegistryModelSerializer[M: models.Model](serializers.ModelSerializer[M]):
    """The base of the API's model serializers: model text fields take text only."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
    }
