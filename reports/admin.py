from django.contrib import admin

from reports.models import Report, ReportFile


class ReportFileInline(admin.TabularInline):
    model = ReportFile
    extra = 0
    can_delete = False
    readonly_fields = ["language", "format", "name", "path", "sha256", "size"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Read-only: reports are requested, built and published through the API."""

    list_display = ["id", "kind", "campaign", "period_start", "period_end", "event", "status", "published_at"]
    list_filter = ["kind", "status", "campaign"]
    inlines = [ReportFileInline]
    readonly_fields = [field.name for field in Report._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
