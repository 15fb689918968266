from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.html import format_html

from checkout.money import format_points
from ops.admin_columns import formatted_column
from shop.models import Product, User
from shop.templatetags.shop_tags import money
from wallet.services import wallet_open


class ShopUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class ShopUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = ShopUserChangeForm
    add_form = ShopUserCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Shoppers created by staff get a wallet too, like those who sign up.
            wallet_open(user=obj)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["title", "thumbnail", "price", "price_in_points", "stock", "is_active", "updated_at"]
    list_filter = ["is_active", "currency", ("stock", admin.EmptyFieldListFilter)]
    list_editable = ["is_active"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 50

    @admin.display(description="Preview")
    def thumbnail(self, product):
        if not product.preview:
            return "-"
        return format_html('<img src="{}" alt="" style="height:40px;border-radius:4px">', product.preview.url)

    @admin.display(description="Price", ordering="price_cents")
    def price(self, product):
        return money(product.price_cents, product.currency)

    price_in_points = formatted_column("price_points", "Price in points", format_points)
