import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.mark.django_db
def test_collectstatic_with_the_manifest_storage_serves_hashed_compressed_files(tmp_path):
    with override_settings(STORAGES=PRODUCTION_STORAGES, STATIC_ROOT=tmp_path, WHITENOISE_USE_FINDERS=False,
                           WHITENOISE_AUTOREFRESH=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        page = Client().get(reverse("shop:catalog")).content.decode()

    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("shop/shop.*.css.gz")), "compressed, hashed stylesheet missing"
    assert list(tmp_path.glob("django_htmx/htmx-2.min.*.js"))
    assert "/static/shop/shop." in page and ".css" in page
    assert "/static/shop/shop.css" not in page  # the hashed name is used
