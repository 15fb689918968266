from django.db import IntegrityError, transaction

from shop.models import User
from wallet.services import wallet_open


class EmailAlreadyRegistered(Exception):
    pass


def user_sign_up(*, email: str, password: str) -> User:
    """Create a shopper and their empty wallet together: a shopper never exists without a wallet.

    Two sign-ups racing for one email both pass the form's check; the database's unique index decides, and the
    loser gets ``EmailAlreadyRegistered`` instead of an error page."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
            wallet_open(user=user)
    except IntegrityError as error:
        raise EmailAlreadyRegistered(email) from error
    return user
