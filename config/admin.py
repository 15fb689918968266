from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import path


class ShopAdminSite(admin.AdminSite):
    """Django's admin with the staff dashboard (config.dashboard) at /admin/dashboard/, linked from the index."""

    index_template = "admin/shop_index.html"

    def get_urls(self):
        from config.dashboard import dashboard_view

        dashboard = self.admin_view(lambda request: dashboard_view(request, self))
        return [path("dashboard/", dashboard, name="dashboard"), *super().get_urls()]


class ShopAdminConfig(AdminConfig):
    default_site = "config.admin.ShopAdminSite"
