"""The balance badge's short way through authentication: session, signed-in user and wallet in one query.

Every page refetches the badge whenever a balance changes, so it is the shop's most frequent request. The usual
way costs a query for the session, one for the user (django.contrib.auth.get_user) and one for the wallet; here
they come from one join on the session's key (the session table records its user: shop.sessions). The session
is accepted only where Django's ``get_user`` would accept it with nothing left to do: unexpired, logged in
through ModelBackend (still configured), the user exists and may log in (``ModelBackend.user_can_authenticate``),
and the session's auth hash equals the user's current one. Anything else -- no session, another backend, an
inactive user, a hash that only a SECRET_KEY_FALLBACKS key verifies (the session must be rotated), a changed
password (the session must be flushed) -- returns None, and the view takes the ordinary way, where Django
decides exactly as on any other page.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ops.db import server_binding_cursor
from wallet.models import Wallet
from wallet.selectors import BalanceVersion, balance_version_from_row

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_User = get_user_model()
_USER_COLUMNS = [field.column for field in _User._meta.concrete_fields]
_USER_ATTNAMES = [field.attname for field in _User._meta.concrete_fields]


def _sql(session_table: str, extra_columns: tuple[str, ...] = ()) -> str:
    extra = "".join(f", {column}" for column in extra_columns)
    user_columns = ", ".join(f"u.{connection.ops.quote_name(column)}" for column in _USER_COLUMNS)
    return (f"SELECT s.session_data, {user_columns}, "
            f"w.id, w.balance, w.lifetime, w.spent, w.updated_at{extra} "
            f"FROM {session_table} s JOIN {_User._meta.db_table} u ON u.id = s.user_id "
            f"LEFT JOIN {Wallet._meta.db_table} w ON w.user_id = u.id "
            f"WHERE s.session_key = %s AND s.expire_date > %s")


def signed_in_balance_version(request) -> BalanceVersion | None:
    """The session's user (set as ``request.user``) and their balance version, or None to go the usual way."""
    found = signed_in_row(request)
    return None if found is None else found[0]


def signed_in_row(request, extra_columns: tuple[str, ...] = ()) -> tuple[BalanceVersion, tuple] | None:
    """As ``signed_in_balance_version``, with the values of ``extra_columns`` (SQL expressions over the user
    ``u``, e.g. a scalar subquery) read by the same query: the storefront's header adds the cart's count."""
    store = request.session
    session_key = store.session_key
    if not session_key or not hasattr(store, "get_model_class"):  # no cookie, or not the shop's session engine
        return None
    with (server_binding_cursor() if connection.vendor == "postgresql" else connection.cursor()) as cursor:
        cursor.execute(_sql(store.get_model_class()._meta.db_table, extra_columns),
                       [session_key, connection.ops.adapt_datetimefield_value(timezone.now())])
        row = cursor.fetchone()
    if row is None:
        return None
    data = store.decode(row[0])
    user_count = len(_USER_ATTNAMES)
    user = _User.from_db(connection.alias, _USER_ATTNAMES, row[1:1 + user_count])
    backend_path, session_hash = data.get(BACKEND_SESSION_KEY), data.get(HASH_SESSION_KEY)
    if (str(data.get(SESSION_KEY)) != str(user.pk) or backend_path != MODEL_BACKEND
            or backend_path not in settings.AUTHENTICATION_BACKENDS):
        return None
    if not ModelBackend().user_can_authenticate(user):
        return None
    if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    # What SessionMiddleware's lazy load and AuthenticationMiddleware's lazy user would have become, read once.
    store._session_cache, store.accessed = data, True
    request.user = user
    wallet_end = 1 + user_count + 5
    return balance_version_from_row(user=user, row=row[1 + user_count:wallet_end]), tuple(row[wallet_end:])
