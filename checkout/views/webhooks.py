import logging

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from checkout.services import InvalidWebhook, WebhookProcessingFailed, stripe_webhook_receive, stripe_webhook_verify

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send our CSRF token; the signature proves the sender instead.
@require_POST
def stripe_webhook(request):
    try:
        event = stripe_webhook_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except InvalidWebhook as error:
        logger.warning("Rejected a Stripe webhook from %s: %s", request.META.get("REMOTE_ADDR"), error)
        return HttpResponseBadRequest("Invalid Stripe webhook.", content_type="text/plain")
    try:
        record = stripe_webhook_receive(event=event)
    except WebhookProcessingFailed:
        return HttpResponse("Processing failed; please retry.", status=500, content_type="text/plain")
    return JsonResponse({"received": True, "status": record.status})
