from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from checkout.money import Currency
from config.storage import previews_storage


class UserManager(BaseUserManager):
    """Email is the login. Emails are stored lower-cased so that the database's unique index sees duplicates."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        """Log-in finds the address however it is typed (``U@Example.com``), through the unique index on
        lower(email) -- the same rule that makes sign-up call it taken."""
        return self.alias(email_lower=Lower("email")).get(email_lower=str(username).strip().lower())

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email


class Session(AbstractBaseSession):
    """A signed-in browser's session, in PostgreSQL only (shop.sessions): deleting the row is the log-out, and no
    cache can hold a copy that outlives it. ``user`` is the session's signed-in user, kept beside the encoded data
    so that the balance badge reads session, user and wallet in one query and staff can end every session of a
    user at once."""

    # No database constraint: a session's data may name a user who no longer exists (deleted while signed in);
    # such a session is simply not signed in, as Django's get_user decides. Deleting a user deletes theirs.
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             db_constraint=False)

    @classmethod
    def get_session_store_class(cls):
        from shop.sessions import SessionStore

        return SessionStore

    class Meta(AbstractBaseSession.Meta):
        db_table = "shop_session"
        indexes = [models.Index(fields=["user"], name="session_user_idx")]


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Product(models.Model):
    """A digital good: the full image is delivered after payment, the preview is what the catalog shows."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    image = models.ImageField(upload_to="products/", help_text="The full-size file the buyer downloads.")
    preview = models.ImageField(upload_to="previews/", blank=True, storage=previews_storage,
                                help_text="Public thumbnail for the catalog.")
    price_cents = models.PositiveBigIntegerField(help_text="Price in minor units (cents).")
    price_points = models.PositiveBigIntegerField(help_text="Price in points.")
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    is_active = models.BooleanField("active", default=True)
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="Leave empty for unlimited copies.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["is_active", "title"], name="product_active_title_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_cents__gt=0), name="product_price_cents_positive"),
            models.CheckConstraint(condition=models.Q(price_points__gt=0), name="product_price_points_positive"),
            models.CheckConstraint(condition=models.Q(currency__in=Currency.values), name="product_currency_known"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("shop:product", kwargs={"slug": self.slug})

    @property
    def is_limited(self) -> bool:
        return self.stock is not None
