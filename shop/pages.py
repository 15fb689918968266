"""The shop's information pages (About, Contact, Terms, Refund policy, Privacy): flat pages that staff edit in the
admin (Flat pages), linked from every page's footer. ``seed_demo`` creates them with the text below when they are
missing and never overwrites what staff wrote."""

from typing import NamedTuple


class ShopPage(NamedTuple):
    name: str  # the URL name, for {% url %}
    url: str  # the flat page's url, where it is served
    title: str
    content: str  # the text seed_demo starts with (HTML, as the admin edits it)


SHOP_PAGES = [
    ShopPage("about", "/about/", "About Pixel Shop", """
<p>Pixel Shop sells original digital pictures: abstract compositions at 1600 × 1200 pixels, delivered as JPEG files
you can download as soon as your payment is confirmed.</p>
<p>Pay by card, or with points from your wallet. Points are bought in packages; the bigger the package, the less
each point costs. Every file you buy stays available from your orders.</p>
"""),
    ShopPage("contact", "/contact/", "Contact us", """
<p>Questions about an order, a download or a payment? Write to <a href="mailto:help@pixelshop.example">
help@pixelshop.example</a> and include your order number (it is on your receipt and in "Your orders").</p>
<p>We answer within two working days.</p>
"""),
    ShopPage("terms", "/terms/", "Terms of sale", """
<p>Buying a picture gives you a personal, non-exclusive licence to use it: print it, use it as a wallpaper or in
your own non-commercial projects. Reselling or redistributing the file is not allowed.</p>
<p>Prices are shown in US dollars and in points before you pay. Card payments are processed by Stripe. Points have
no cash value and cannot be transferred to another account.</p>
"""),
    ShopPage("refunds", "/refund-policy/", "Refund policy", """
<p>If a file is damaged or not what the description said, contact us within 14 days of your purchase and we will
refund it: to your card for card payments, to your wallet for purchases made with points.</p>
<p>Points packages can be refunded while their points are unspent.</p>
"""),
    ShopPage("privacy", "/privacy/", "Privacy", """
<p>We keep your e-mail address, your orders and your points history so that you can log in, download what you
bought and see your balance. We send you e-mail only about your account and your orders.</p>
<p>Card details go to Stripe, our payment provider, and never reach our servers. We do not sell or share your data
with anyone else.</p>
"""),
]
