from django.urls import path

from orders.views import cart

app_name = "orders"

urlpatterns = [
    path("cart/", cart.cart_page, name="cart"),
    path("cart/add/", cart.cart_add_view, name="cart_add"),
    path("cart/items/<int:product_id>/", cart.cart_update_view, name="cart_update"),
    path("cart/items/<int:product_id>/remove/", cart.cart_remove_view, name="cart_remove"),
    path("cart/badge/", cart.cart_badge, name="cart_badge"),
]
