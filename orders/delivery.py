"""How a download reaches its buyer once orders.downloads has said yes, without a web worker carrying the transfer.

- Object storage: a redirect to a presigned URL of the private file, valid DOWNLOAD_URL_TTL seconds (minutes: it
  must only outlive the redirect; a transfer that started may run for as long as it takes), asking the storage to
  answer with ``Content-Disposition: attachment``. The shop's work ends with the redirect.
- Filesystem behind a web server (DOWNLOAD_OFFLOAD): an empty answer whose X-Accel-Redirect (nginx, an
  ``internal`` location over MEDIA_ROOT) or X-Sendfile (Apache mod_xsendfile, lighttpd) header tells the web
  server which file to send.
- Filesystem alone (DOWNLOAD_OFFLOAD=none, `make run` and the Procfile as is): the web process streams the file in
  blocks; the Procfile's gthread workers carry it on one thread and keep serving other requests on the rest
  (README: Downloads at scale, for the measurement).
"""

import mimetypes
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from orders.models import OrderItem


def download_filename(item: OrderItem) -> str:
    extension = item.product.image.name.rsplit(".", 1)[-1]
    return f"{item.product.slug}.{extension}"


def download_response(item: OrderItem):
    file = item.product.image
    filename = download_filename(item)
    disposition = content_disposition_header(as_attachment=True, filename=filename)
    if settings.MEDIA_ON_OBJECT_STORAGE:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        url = file.storage.url(file.name, expire=settings.DOWNLOAD_URL_TTL, parameters={
            "ResponseContentDisposition": disposition, "ResponseContentType": content_type,
            "ResponseCacheControl": "private, no-store"})
        response = HttpResponseRedirect(url)
    elif settings.DOWNLOAD_OFFLOAD != "none":
        response = HttpResponse(content_type=mimetypes.guess_type(filename)[0] or "application/octet-stream")
        response["Content-Disposition"] = disposition
        if settings.DOWNLOAD_OFFLOAD == "x-accel-redirect":
            response["X-Accel-Redirect"] = settings.DOWNLOAD_ACCEL_LOCATION + quote(file.name)
        else:
            response["X-Sendfile"] = file.path
    else:
        # FileResponse streams the file in blocks (gunicorn sends it with sendfile()): never read into memory.
        response = FileResponse(file.open("rb"), as_attachment=True, filename=filename)
    # Neither the link nor the presigned URL it leads to may be kept by a cache: both name one buyer's purchase.
    response["Cache-Control"] = "private, no-store"
    return response
