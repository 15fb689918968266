"""Parts of pages that are the same for every shopper (the catalog's grid, a product's description and price, the
points packages), rendered once and kept in the cache.

A fragment is rendered from the values the page passes and nothing else: no request, no user, no CSRF token, no
context processors, so nothing per shopper can end up in it even when its template asks (``{{ user }}`` there
renders empty). Its cache key is a digest of those values -- every loaded field of a row, its cached related rows,
annotations and attributes a view set -- of the template's name and of the shop's code and templates. So there is
nothing to invalidate: a sale, a reservation, a release (``stock_take``/``stock_return``'s set-based UPDATEs), an
edit in the admin or a migration changes the values the page reads from the database on every request, the key
changes with them, and the next request renders anew. A stale fragment would need the cache to answer for a key
whose inputs no longer exist; old keys simply expire (``TIMEOUT``). The page's queries are unchanged (they are
what the key is made from); what a hit saves is the rendering.

Two tiers, both Django caches: this process's memory first (a hit costs no round trip: rendering a fragment costs
about as much as asking Redis for it), then the default alias shared by every process (``ops.cache.
ResilientRedisCache`` with ``REDIS_URL``), so what one process rendered serves the others. Because a key names its
content, the copies in each process's memory need no invalidation either. The shared cache answers a miss while
Redis is unreachable, and any other cache error is caught here too: a cache that fails only costs the rendering.
"""

import dataclasses
import datetime
import decimal
import functools
import hashlib
import logging
import re
import uuid
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.db.models import Model, QuerySet
from django.db.models.fields.files import FieldFile
from django.template.loader import get_template
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString, mark_safe

from ops.cache import _warn

logger = logging.getLogger(__name__)

ENABLED = True  # bench/render_cache.py compares with every fragment rendered
CACHE_ALIAS = "default"
TIMEOUT = 3600
# A few megabytes per process: the catalog's first pages, the products shoppers look at, the packages. The least
# recently used go first.
LOCAL_ENTRIES = 2000
WHOLE = "html"  # the name of a whole template's rendering (no parts named)
_SOURCE_SUFFIXES = {".py", ".html", ".txt"}


class Unfingerprintable(TypeError):
    """A value whose content cannot be read into a key: the fragment is rendered without the cache."""


def fingerprint(value) -> str:
    """The content of ``value`` as text: equal text, equal rendering."""
    out: list[str] = []
    _fingerprint(value, out, set())
    return "\x1f".join(out)


def _fingerprint(value, out: list[str], seen: set[int]) -> None:
    if value is None or isinstance(value, (str, int, float, decimal.Decimal, datetime.date, datetime.time,
                                           datetime.timedelta, uuid.UUID)):
        out.append(f"{type(value).__name__}:{value!r}")
    elif isinstance(value, FieldFile):
        out.append(f"file:{value.name!r}")
    elif isinstance(value, Model):
        if id(value) in seen:  # a related row pointing back
            out.append(f"ref:{value._meta.label}:{value.pk!r}")
            return
        seen.add(id(value))
        out.append(f"row:{value._meta.label}")
        for name, item in sorted(value.__dict__.items()):
            if name != "_state":
                out.append(name)
                # A file field holds its name until first read, then the FieldFile made from it (a rendering
                # that showed the picture): the same content either way, so the same key.
                _fingerprint(item.name if isinstance(item, FieldFile) else item, out, seen)
        for name, related in sorted(value._state.fields_cache.items()):
            out.append(f"related:{name}")
            _fingerprint(related, out, seen)
    elif isinstance(value, QuerySet):
        if value._result_cache is None:
            raise Unfingerprintable("an unevaluated queryset: pass a list")
        _fingerprint(value._result_cache, out, seen)
    elif isinstance(value, (list, tuple)):
        out.append(f"[{len(value)}")
        for item in value:
            _fingerprint(item, out, seen)
    elif isinstance(value, dict):
        out.append(f"{{{len(value)}")
        for key in sorted(value, key=repr):
            out.append(repr(key))
            _fingerprint(value[key], out, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        out.append(f"dataclass:{type(value).__qualname__}")
        for field in dataclasses.fields(value):
            out.append(field.name)
            _fingerprint(getattr(value, field.name), out, seen)
    else:
        raise Unfingerprintable(f"cannot read a {type(value).__qualname__} into a fragment's key")


# Settings a fragment's markup depends on besides its values: where previews and static files are served from,
# the script prefix, number and date formats. Changing one (a new CDN domain) is a restart with new keys.
RENDERING_SETTINGS = ("STORAGES", "MEDIA_URL", "STATIC_URL", "FORCE_SCRIPT_NAME", "LANGUAGE_CODE", "TIME_ZONE",
                      "USE_TZ", "USE_I18N", "USE_THOUSAND_SEPARATOR")


@functools.cache
def code_digest() -> str:
    """The shop's templates and Python code, Django's version and ``RENDERING_SETTINGS``: a deploy that changes how
    a fragment renders never finds the previous one's renderings. Read once per process (a few milliseconds)."""
    digest = hashlib.sha256(django.get_version().encode())
    for name in RENDERING_SETTINGS:
        # Object reprs carry addresses that differ per process (boto3's transfer config): not what renders.
        digest.update(re.sub(r" at 0x[0-9a-f]+", "", f"{name}={getattr(settings, name, None)!r}").encode())
    base = Path(settings.BASE_DIR).resolve()
    roots = {Path(folder).resolve() for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])}
    roots |= {Path(config.path).resolve() for config in apps.get_app_configs()
              if Path(config.path).resolve().is_relative_to(base)}
    for root in sorted(roots):
        for path in sorted(root.rglob("*")):
            if path.suffix in _SOURCE_SUFFIXES and "migrations" not in path.parts and path.is_file():
                digest.update(str(path.relative_to(base) if path.is_relative_to(base) else path).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _forget_code_digest(**kwargs):
    # runserver reloads templates without restarting, and tests change settings: either must change the keys too.
    # Returns None, so that the autoreloader still restarts for Python files.
    code_digest.cache_clear()


file_changed.connect(_forget_code_digest, dispatch_uid="ops.fragments.forget_code_digest")
setting_changed.connect(_forget_code_digest, dispatch_uid="ops.fragments.forget_code_digest")


def _key(template_name: str, parts: tuple[str, ...], context: dict) -> str:
    content = "\x1e".join([code_digest(), template_name, ",".join(parts), fingerprint(context)])
    return f"fragment:{template_name}:{hashlib.sha256(content.encode()).hexdigest()}"


def _render(template_name: str, parts: tuple[str, ...], context: dict) -> dict[str, str]:
    """The parts (partialdefs) of ``template_name``, or the whole template, from ``context`` alone."""
    names = {part: f"{template_name}#{part}" for part in parts} or {WHOLE: template_name}
    return {part: str(get_template(name).render(context)) for part, name in names.items()}


def _safe(rendered: dict[str, str]) -> dict[str, SafeString]:
    return {part: mark_safe(html) for part, html in rendered.items()}


@functools.cache
def local_cache() -> LocMemCache:
    """This process's tier (one for all its threads; LocMemCache locks)."""
    return LocMemCache("ops-fragments", {"TIMEOUT": TIMEOUT, "OPTIONS": {"MAX_ENTRIES": LOCAL_ENTRIES}})


def _cache_get_many(keys: list[str]) -> dict:
    found = local_cache().get_many(keys)
    wanted = [key for key in keys if key not in found]
    if wanted:
        try:
            shared = caches[CACHE_ALIAS].get_many(wanted)
        except Exception as error:  # the cache's own failures cost the rendering, never the page
            _warn("fragment_get", error)
            shared = {}
        if shared:
            local_cache().set_many(shared, timeout=TIMEOUT)
            found.update(shared)
    return found


def _cache_set_many(entries: dict) -> None:
    local_cache().set_many(entries, timeout=TIMEOUT)
    try:
        caches[CACHE_ALIAS].set_many(entries, timeout=TIMEOUT)
    except Exception as error:
        _warn("fragment_set", error)


def shared_fragments_each(template_name: str, contexts: list[dict], *,
                          parts: tuple[str, ...] = ()) -> list[dict[str, SafeString]]:
    """Render ``template_name`` (its ``parts``, or the whole of it under ``WHOLE``) once per context, each from
    that context alone, through the cache: one round trip for all of them."""
    if not ENABLED:
        return [_safe(_render(template_name, parts, context)) for context in contexts]
    keys: list[str | None] = []
    for context in contexts:
        try:
            keys.append(_key(template_name, parts, context))
        except Unfingerprintable as error:
            logger.error("fragment_uncached template=%s: %s", template_name, error)
            keys.append(None)
    found = _cache_get_many([key for key in keys if key]) if any(keys) else {}
    results, missing = [], {}
    for key, context in zip(keys, contexts, strict=True):
        rendered = found.get(key) if key else None
        if not isinstance(rendered, dict):
            rendered = _render(template_name, parts, context)
            if key:
                missing[key] = rendered
        results.append(_safe(rendered))
    if missing:
        _cache_set_many(missing)
    return results


def shared_fragments(template_name: str, context: dict, *, parts: tuple[str, ...] = ()) -> dict[str, SafeString]:
    """``shared_fragments_each`` for one context."""
    return shared_fragments_each(template_name, [context], parts=parts)[0]
