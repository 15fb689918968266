import pytest

from tests.wallet.helpers import credit


@pytest.fixture
def funded_shopper(shopper):
    """A shopper who bought 1,000 points."""
    credit(shopper, 1000, key="funded-purchase", metadata={"package_name": "Premium"})
    return shopper
