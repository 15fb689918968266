"""The session engine (``SESSION_ENGINE = "shop.sessions"``): Django's database sessions in the shop's own table,
which also records the signed-in user (``shop.models.Session``).

Why not sessions cached in Redis: a log-out deletes the session, and a delete that the cache misses during a
Redis blip would leave a copy there that signs the cookie in again when Redis answers (for the cookie's two
weeks). A session read is one primary-key lookup in PostgreSQL (README: "Sessions" has the measurement).
"""

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        from shop.models import Session

        return Session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = signed_in_user_id(data)
        return session


def signed_in_user_id(data: dict):
    """The user id a session's data says is signed in, or None."""
    try:
        return get_user_model()._meta.pk.to_python(data[SESSION_KEY])
    except (KeyError, ValidationError):
        return None
