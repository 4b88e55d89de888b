"""The staff page to import bank statements, in the admin: upload a file,
pick a bank's CSV profile or make one from the file's header, see the first
lines as they will be read, import, and see what came of it (lines read,
matched, proposed, left for review). Imported by `pledges.admin`.

The uploaded file waits in the storage between the preview and the import
(under statements/pending/, named by a random token), so it is sent once.
"""

import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from pledges.admin import RoleAdmin
from pledges.audit import Actor
from pledges.errors import DomainError, StatementTooLarge
from pledges.models import BankStatement, CsvProfile, StatementImport
from pledges.reconciliation import imports, services
from pledges.reconciliation.csv_statement import ENCODINGS, FIELDS
from pledges.roles import RECONCILER, has_role

PENDING = "statements/pending/{token}.dat"


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="camt.053/054/052, MT940, BAI2 or CSV")
    profile = forms.ModelChoiceField(
        CsvProfile.objects.order_by("name"),
        required=False,
        empty_label="— recognise the CSV header —",
        help_text="For a CSV export: the bank's saved profile",
    )
    account = forms.CharField(required=False, max_length=64, help_text="CSV: the Fund's account (default: configured)")
    currency = forms.CharField(required=False, max_length=3, help_text="CSV: when the file names no currency")
    date_order = forms.ChoiceField(
        choices=[("auto", "as written"), ("DMY", "day/month/year"), ("MDY", "month/day/year")], required=False
    )
    pending = forms.CharField(required=False, widget=forms.HiddenInput)
    filename = forms.CharField(required=False, widget=forms.HiddenInput)


def _profile_form(columns: list[str], found: dict[str, Any], data=None) -> forms.Form:
    """A form to save the file's layout as a bank's profile: a column for each field."""
    choices = [("", "—")] + [(name, name) for name in columns]
    fields: dict[str, forms.Field] = {
        "profile_name": forms.CharField(max_length=100, label="Profile name", help_text="The bank, and the export"),
    }
    for name in FIELDS:
        fields[f"column_{name}"] = forms.ChoiceField(
            choices=choices, required=False, label=name.replace("_", " "), initial=found.get(name, "")
        )
    fields["profile_date_order"] = forms.ChoiceField(
        choices=[("auto", "as written"), ("DMY", "day/month/year"), ("MDY", "month/day/year")], label="Dates"
    )
    fields["profile_decimal_separator"] = forms.ChoiceField(
        choices=[("auto", "found from the amounts"), (",", "comma"), (".", "point")], label="Decimal separator"
    )
    fields["profile_sign"] = forms.ChoiceField(
        choices=[("amount", "a minus sign is a debit"), ("direction", "the credit/debit column decides")],
        label="Credit or debit",
    )
    fields["profile_skip_lines"] = forms.IntegerField(
        min_value=0, max_value=1000, initial=0, label="Lines before the header"
    )
    fields["profile_encoding"] = forms.ChoiceField(choices=[(e, e) for e in ENCODINGS], label="Encoding")
    fields["profile_currency"] = forms.CharField(max_length=3, required=False, label="Currency (if not in the file)")
    form_class = type("ProfileForm", (forms.Form,), fields)
    return form_class(data=data, prefix="p")


def _line_outcome(statement: BankStatement) -> dict[str, Any]:
    counts = statement.report or {}
    by_status = services._line_counts(statement)
    return {
        "statement": statement,
        "lines": statement.line_count,
        "matched": by_status["applied"],
        "proposed": by_status["proposed"],
        "review": by_status["unmatched"],
        "excluded": by_status["excluded"],
        "skipped": counts.get("skipped_duplicates", 0),
        "matching": counts.get("matching", ""),
    }


@admin.register(BankStatement)
class BankStatementAdmin(RoleAdmin):
    list_display = ["imported_at", "statement_id", "account", "file_format", "kind", "line_count", "filename"]
    list_filter = ["file_format", "kind", "account"]
    search_fields = ["statement_id", "account", "filename"]
    date_hierarchy = "imported_at"
    actions = None
    change_list_template = "admin/pledges/bankstatement/change_list.html"

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="pledges_bankstatement_import"),
            path(
                "import/done/", self.admin_site.admin_view(self.import_done_view), name="pledges_bankstatement_imported"
            ),
            path(
                "import/<int:pk>/",
                self.admin_site.admin_view(self.import_job_view),
                name="pledges_bankstatement_import_job",
            ),
            *super().get_urls(),
        ]

    # The upload is capped as it arrives, so the handler is set before the
    # CSRF check reads the body (Django's "modifying upload handlers on the
    # fly"): csrf_exempt outside, csrf_protect inside.
    @method_decorator(csrf_exempt)
    def import_view(self, request: HttpRequest) -> HttpResponse:
        context = self._context(request)
        if not has_role(request.user, RECONCILER):
            context["problem"] = {"detail": "Importing statements needs the reconciler role.", "errors": {}}
            return TemplateResponse(request, "admin/pledges/bankstatement/import.html", context, status=403)
        if request.method == "POST":
            imports.upload_cap_install(request)
        try:
            return self._import_view(request)
        except StatementTooLarge as error:  # raised while the CSRF check reads the body
            context.update(form=ImportForm(), problem={"detail": error.detail, "errors": {}})
            return TemplateResponse(request, "admin/pledges/bankstatement/import.html", context, status=413)

    @method_decorator(csrf_protect)
    def _import_view(self, request: HttpRequest) -> HttpResponse:
        context = self._context(request)
        if request.method != "POST":
            context["form"] = ImportForm()
            return TemplateResponse(request, "admin/pledges/bankstatement/import.html", context)
        form = ImportForm(request.POST, request.FILES)
        context["form"] = form
        if not form.is_valid():
            return TemplateResponse(request, "admin/pledges/bankstatement/import.html", context, status=400)
        try:
            token, filename = self._pending(form)
            options = imports.import_options(
                {
                    "account": form.cleaned_data["account"],
                    "currency": form.cleaned_data["currency"],
                    "date_order": form.cleaned_data["date_order"] or "auto",
                    "profile": form.cleaned_data["profile"].pk if form.cleaned_data["profile"] else "",
                }
            )
            if "save_profile" in request.POST:
                options["profile"] = self._profile_save(request, context, token, options)
            if "import" in request.POST:
                return self._import(request, token, filename, options)
            return self._preview(request, context, token, filename, options)
        except DomainError as error:
            context["problem"] = {"detail": error.detail, "errors": error.errors}
            return TemplateResponse(request, "admin/pledges/bankstatement/import.html", context, status=error.status)

    def _context(self, request: HttpRequest) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import a bank statement",
            "max_bytes": settings.STATEMENT_MAX_BYTES,
        }

    def _pending(self, form: ImportForm) -> tuple[str, str]:
        """The file waiting between preview and import: a new upload is stored
        under a new token; without one, the token of the earlier upload."""
        upload = form.cleaned_data.get("file")
        if upload is not None:
            imports.upload_checked(upload)
            token = secrets.token_urlsafe(24)
            default_storage.save(PENDING.format(token=token), File(upload))
            return token, upload.name or ""
        token = form.cleaned_data.get("pending") or ""
        if not token or not token.replace("-", "").replace("_", "").isalnum():
            raise DomainError("Choose the statement file.", errors={"file": ["Choose the statement file."]})
        if not default_storage.exists(PENDING.format(token=token)):
            raise DomainError("The file waited too long; choose it again.", errors={"file": ["Choose it again."]})
        return token, form.cleaned_data.get("filename") or ""

    def _preview(self, request, context, token: str, filename: str, options: dict) -> HttpResponse:
        with default_storage.open(PENDING.format(token=token), "rb") as stream:
            preview = imports.statement_preview(stream=stream, options=options)
        context.update(
            preview=preview,
            pending=token,
            filename=filename,
            form=ImportForm(
                initial={
                    "pending": token,
                    "filename": filename,
                    "profile": options.get("profile"),
                    "account": options.get("account"),
                    "currency": options.get("currency"),
                    "date_order": options.get("date_order"),
                }
            ),
            # Offered for a CSV read without a profile (a chosen profile is changed in its own admin page).
            profile_form=_profile_form(preview["header"], preview["columns"])
            if preview["file_format"] == "csv" and options.get("profile") is None
            else None,
        )
        return TemplateResponse(request, "admin/pledges/bankstatement/import.html", context)

    def _profile_save(self, request, context, token: str, options: dict) -> CsvProfile:
        with default_storage.open(PENDING.format(token=token), "rb") as stream:
            names = imports.statement_preview(stream=stream, options={**options, "profile": None})["header"]
        form = _profile_form(names, {}, data=request.POST)
        if not form.is_valid():
            raise DomainError("Check the profile.", errors={k: [str(m) for m in v] for k, v in form.errors.items()})
        data = form.cleaned_data
        profile = imports.csv_profile_save(
            name=data["profile_name"],
            values={
                "columns": {name: data[f"column_{name}"] for name in FIELDS if data.get(f"column_{name}")},
                "date_order": data["profile_date_order"],
                "decimal_separator": data["profile_decimal_separator"],
                "sign": data["profile_sign"],
                "skip_lines": data["profile_skip_lines"] or 0,
                "encoding": data["profile_encoding"],
                "currency": data["profile_currency"],
                "account": options.get("account", ""),
            },
            actor=Actor.staff(request.user),
        )
        messages.success(request, f"Profile {profile.name} saved; the preview below reads the file with it.")
        return profile

    def _import(self, request: HttpRequest, token: str, filename: str, options: dict) -> HttpResponse:
        name = PENDING.format(token=token)
        actor = Actor.staff(request.user)
        with default_storage.open(name, "rb") as stream:
            size = default_storage.size(name)
            if size > settings.STATEMENT_INLINE_MAX_BYTES:
                job = imports.statement_import_queue(
                    file=stream, filename=filename, size=size, options=options, actor=actor
                )
                default_storage.delete(name)
                return HttpResponseRedirect(reverse("admin:pledges_bankstatement_import_job", args=[job.pk]))
            statements = services.statement_import(stream=stream, filename=filename, actor=actor, **options)
        default_storage.delete(name)
        ids = ",".join(str(s.pk) for s in statements)
        return HttpResponseRedirect(f"{reverse('admin:pledges_bankstatement_imported')}?statements={ids}")

    def import_done_view(self, request: HttpRequest) -> HttpResponse:
        """What came of an import, as it is now (matching runs after the import's commit)."""
        ids = [int(i) for i in request.GET.get("statements", "").split(",") if i.isdigit()][:100]
        statements = list(BankStatement.objects.filter(pk__in=ids).order_by("pk"))
        context = self._context(request)
        context.update(
            title="Statement imported",
            outcome=[_line_outcome(s) for s in statements],
            refresh=any((s.report or {}).get("matching") in ("queued", "running") for s in statements),
        )
        return TemplateResponse(request, "admin/pledges/bankstatement/import_done.html", context)

    def import_job_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(StatementImport, pk=pk)
        context = self._context(request)
        context.update(
            title=f"Import of {job.filename or 'a statement'}",
            job=job,
            lines_read=imports.statement_import_progress(job),
            outcome=[_line_outcome(s) for s in job.statements.all()],
            refresh=job.status in ("queued", "running"),
        )
        return TemplateResponse(request, "admin/pledges/bankstatement/import_done.html", context)


@admin.register(CsvProfile)
class CsvProfileAdmin(RoleAdmin):
    list_display = ["name", "account", "date_order", "decimal_separator", "sign", "currency", "updated_at"]
    search_fields = ["name", "account"]
    actions = None


@admin.register(StatementImport)
class StatementImportAdmin(RoleAdmin):
    list_display = ["created_at", "filename", "size", "status", "created_by", "finished_at"]
    list_filter = ["status"]
    actions = None
