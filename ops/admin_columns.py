"""Admin columns that show a stored number the way the shop writes it ("1,500 points", "$19.99") instead of the
bare integer, sorted by the field itself."""

from collections.abc import Callable

from django.contrib import admin


def formatted_column(field: str, description: str, formatter: Callable[[object], str]):
    """A ``ModelAdmin`` method for ``list_display``/``readonly_fields``: ``formatter(obj.<field>)``."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        return "-" if value is None else formatter(value)

    column.__name__ = f"{field}_formatted"
    return column
