"""The balance badge's short way through authentication: the signed-in user and their wallet in one query.

Every page refetches the badge whenever a balance changes, so it is the shop's most frequent request. The usual
way costs the session, a query for the user (django.contrib.auth.get_user) and a query for the wallet; here the
user and the wallet come from one join. The session is accepted only where Django's ``get_user`` would accept it
with nothing left to do: logged in through ModelBackend (still configured), the user exists and may log in
(``ModelBackend.user_can_authenticate``), and the session's auth hash equals the user's current one. Anything
else -- no session, another backend, an inactive user, a hash that only a SECRET_KEY_FALLBACKS key verifies (the
session must be rotated), a changed password (the session must be flushed) -- returns None, and the view takes
the ordinary way, where Django decides exactly as on any other page.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.crypto import constant_time_compare

from wallet.db import server_binding_cursor
from wallet.models import Wallet
from wallet.selectors import BalanceVersion, balance_version_from_row

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_User = get_user_model()
_USER_COLUMNS = [field.column for field in _User._meta.concrete_fields]
_USER_ATTNAMES = [field.attname for field in _User._meta.concrete_fields]
_SQL = (f"SELECT {', '.join(f'u.{connection.ops.quote_name(column)}' for column in _USER_COLUMNS)}, "
        f"w.id, w.balance, w.lifetime, w.spent, w.updated_at "
        f"FROM {_User._meta.db_table} u LEFT JOIN {Wallet._meta.db_table} w ON w.user_id = u.id WHERE u.id = %s")


def signed_in_balance_version(request) -> BalanceVersion | None:
    """The session's user (set as ``request.user``) and their balance version, or None to go the usual way."""
    session = request.session
    try:
        user_id = _User._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
        session_hash = session[HASH_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend_path != MODEL_BACKEND or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    with (server_binding_cursor() if connection.vendor == "postgresql" else connection.cursor()) as cursor:
        cursor.execute(_SQL, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user_count = len(_USER_ATTNAMES)
    user = _User.from_db(connection.alias, _USER_ATTNAMES, row[:user_count])
    if not ModelBackend().user_can_authenticate(user):
        return None
    if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    request.user = user  # what AuthenticationMiddleware's lazy user would have become
    return balance_version_from_row(user=user, row=row[user_count:])
