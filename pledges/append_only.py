"""Append-only rows: the audit trail and the status history.

One home for the rule that such a row is written once and never changed or
deleted through Django (on PostgreSQL a trigger refuses it in the database
too). A model names what it keeps in `append_only_message`.
"""

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError(self.model.append_only_message)

    def delete(self):
        raise ValidationError(self.model.append_only_message)


class AppendOnlyModel(models.Model):
    """An abstract base: no fields of its own, so no table and no schema."""

    append_only_message: ClassVar[str]

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(self.append_only_message)
