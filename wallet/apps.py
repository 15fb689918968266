from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "wallet"
    verbose_name = "Wallets and points ledger"

    def ready(self):
        from checkout.kinds import register
        from wallet.checkout_kind import PointsPackageKind

        register(PointsPackageKind())
