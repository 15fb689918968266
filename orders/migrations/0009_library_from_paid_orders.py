"""Fill the library from the orders paid before it existed: each product a shopper owns (an order completed and
not taken back by a lost dispute), delivered by its newest such order. Backwards, the rows simply go."""

from django.db import migrations

BATCH = 2000


def fill(apps, schema_editor):
    OrderItem = apps.get_model("orders", "OrderItem")
    LibraryEntry = apps.get_model("orders", "LibraryEntry")
    owned = (OrderItem.objects.filter(order__status="completed").exclude(order__dispute_status="lost")
             .order_by("-order__created_at", "-order_id", "-id")
             .values_list("id", "product_id", "order__user_id", "order__created_at"))
    seen, batch = set(), []
    for item_id, product_id, user_id, created_at in owned.iterator(chunk_size=BATCH):
        if (user_id, product_id) in seen:
            continue
        seen.add((user_id, product_id))
        batch.append(LibraryEntry(user_id=user_id, product_id=product_id, order_item_id=item_id,
                                  created_at=created_at))
        if len(batch) >= BATCH:
            LibraryEntry.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    LibraryEntry.objects.bulk_create(batch, ignore_conflicts=True)


def empty(apps, schema_editor):
    apps.get_model("orders", "LibraryEntry").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_one_copy_cart_library_and_order_lists")]

    operations = [migrations.RunPython(fill, empty)]
