"""Admin change lists that stay fast on big tables: searches through indexes, counts that do not read everything.

Django's own search (``search_fields``) matches ``icontains`` -- ``UPPER(col) LIKE '%term%'``, which no index
serves -- or, with ``=``, ``iexact`` (``UPPER(col) = UPPER(term)``, which no plain index serves either), OR-ed
across joins: PostgreSQL reads the whole table for every search. Here a term is matched

- exactly against the model's own indexed columns (``exact_search_fields``; a term that is not a valid value
  for a column, such as a non-UUID for an id, skips that column), and
- as a prefix of the shopper's email (stored lower-cased, so ``LIKE 'term%'`` reads the email's pattern index)
  through ``email_search``: (the model's foreign key, the path from its target to the email). The matching
  owners are read first (at most ``EMAIL_MATCHES``), so the table itself is read through its foreign key's index.

The related rows a list shows (``list_select_related``) are read for the shown page only, by primary key, in a
query each (prefetched), not joined: a search's matches are sorted after they are found, and PostgreSQL joined
every match before that sort -- hashing the whole related table (every wallet, every user) once there were more
than a few dozen matches, a cost that grew with the shop's shoppers rather than with the page.

A list sorts only by the columns of its ``sortable_by`` (those an index keeps in order), whatever the URL asks.
"""

from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Q

from ops.pagination import EstimatedCountPaginator

EMAIL_MATCHES = 100


class FastChangeList:
    """Mixin for a ``ModelAdmin`` over a table that grows without bound."""

    exact_search_fields: list[str] = []
    email_search: tuple[str, str] | None = None
    paginator = EstimatedCountPaginator
    show_full_result_count = False  # no COUNT(*) of the whole table beside the filtered one

    def get_changelist(self, request, **kwargs):
        return PageRelatedChangeList

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q()
        for name in self.exact_search_fields:
            try:
                value = self.model._meta.get_field(name).to_python(term)
            except ValidationError:
                continue
            matches |= Q(**{name: value})
        if self.email_search is not None:
            foreign_key, email_path = self.email_search
            field = self.model._meta.get_field(foreign_key)
            owners = _owners_by_email(field.related_model, email_path, term.lower())
            if owners:
                matches |= Q(**{f"{field.attname}__in": owners})
        matches |= self.search_more(term)
        return (queryset.filter(matches) if matches else queryset.none()), False

    def search_more(self, term: str) -> Q:
        """Other indexed matches for ``term`` (an empty Q: none)."""
        return Q()


def _owners_by_email(model, email_path: str, prefix: str) -> list:
    """The primary keys of ``model``'s rows whose email (at ``email_path``) starts with ``prefix``, at most
    ``EMAIL_MATCHES``. Through one relation (a wallet's ``user__email``) the users are read first, then the rows by
    their foreign key's index: joined in one query, PostgreSQL may hash the rows' whole table once it expects a
    hundred matching users."""
    relation, _, email_field = email_path.rpartition("__")
    if not relation or "__" in relation:
        return list(model._default_manager.filter(**{f"{email_path}__startswith": prefix})
                    .order_by().values_list("pk", flat=True)[:EMAIL_MATCHES])
    related = model._meta.get_field(relation)
    users = list(related.related_model._default_manager.filter(**{f"{email_field}__startswith": prefix})
                 .order_by().values_list("pk", flat=True)[:EMAIL_MATCHES])
    if not users:
        return []
    return list(model._default_manager.filter(**{f"{related.attname}__in": users})
                .order_by().values_list("pk", flat=True)[:EMAIL_MATCHES])


class PageRelatedChangeList(ChangeList):
    def get_ordering_field(self, field_name):
        # Django leaves the header of a column outside ``sortable_by`` without a link, but still sorts by it when the
        # URL asks (``?o=``): on a big table, a sort of every row.
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)

    def apply_select_related(self, queryset):
        if isinstance(self.list_select_related, bool):  # Django's "all of them" and "those displayed"
            return super().apply_select_related(queryset)
        return queryset.prefetch_related(*self.list_select_related)


def uuid_prefix_range(term: str, field: str = "pk") -> Q:
    """The short id staff see (the first 8 hex digits of a UUID) as a range of the UUID index: a LIKE over the
    UUID's text would read every row."""
    digits = term.strip().lower()
    if len(digits) != 8 or any(char not in "0123456789abcdef" for char in digits):
        return Q()
    return Q(**{f"{field}__gte": f"{digits}-0000-0000-0000-000000000000",
                f"{field}__lte": f"{digits}-ffff-ffff-ffff-ffffffffffff"})
