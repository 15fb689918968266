from django.urls import path

from orders.views import buying, cart, library, orders

app_name = "orders"

urlpatterns = [
    path("cart/", cart.cart_page, name="cart"),
    path("cart/add/", cart.cart_add_view, name="cart_add"),
    path("cart/items/<int:product_id>/remove/", cart.cart_remove_view, name="cart_remove"),
    path("cart/badge/", cart.cart_badge, name="cart_badge"),
    path("cart/pay/points/", orders.pay_with_points, name="pay_with_points"),
    path("cart/pay/card/", orders.pay_by_card, name="pay_by_card"),
    path("buy/", buying.buy_now, name="buy_now"),
    path("orders/<uuid:order_id>/cancel/", orders.cancel_card_order, name="cancel"),
    path("orders/<uuid:order_id>/payment-left/", orders.card_payment_left, name="payment_left"),
    path("orders/<uuid:order_id>/check/", orders.check_card_payment, name="check"),
    path("orders/", orders.order_list, name="list"),
    path("orders/<uuid:order_id>/", orders.order_detail, name="detail"),
    path("downloads/<str:token>/", orders.download, name="download"),
    path("library/", library.library_page, name="library"),
]
