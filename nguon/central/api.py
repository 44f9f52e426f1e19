"""Federation endpoints between a parent (central) instance and its children (`/api/v1/central/`).

No session here: a child authenticates every request by its signature with the key pinned at pairing (headers
X-Nguon-Instance, X-Nguon-Timestamp, X-Nguon-Signature; see docs/central.md), and every answer after that is
signed by us over the request's signature. Errors are JSON: {"error": {"code", "message", ...}}.
"""

from __future__ import annotations

import asyncio
import json
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from ninja import Router

from nguon.central import kinds, outbox, pairing
from nguon.central.federation import envelope, identity
from nguon.central.federation.receive import OutOfOrder, receive
from nguon.central.link_models import Link
from nguon.core.errors import DomainError

router = Router(tags=["central"])

MAX_BODY = 32 * 1024 * 1024
POLL_SECONDS = 1.0  # how often a waiting pull looks at the table (messages queued by another process)


class Refusal(Exception):
    """A refused request; `signature`: the request's, once it is verified (the answer is then signed)."""

    def __init__(self, status: int, code: str, message: str, *, signature: str = "", **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.signature = signature


def _answer(status: int, data: dict, request_signature: str = "") -> HttpResponse:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(raw, status=status, content_type="application/json")
    if request_signature:
        payload = envelope.answer_payload(status, request_signature, raw)
        response[envelope.H_SIG] = identity.signer().sign(payload)
    response["Cache-Control"] = "no-store"
    return response


def _refused(exc: Refusal) -> HttpResponse:
    return _answer(exc.status, {"error": {"code": exc.code, "message": exc.message, **exc.extra}}, exc.signature)


def _signed_headers(request) -> tuple[str, str, str]:
    sender = request.headers.get(envelope.H_FROM, "")
    timestamp = request.headers.get(envelope.H_TIME, "")
    signature = request.headers.get(envelope.H_SIG, "")
    if not (sender and timestamp and signature):
        raise Refusal(401, "unsigned", "the request is not signed")
    if not pairing.fresh(timestamp):
        raise Refusal(
            401, "stale_request", "the request's timestamp is too far from our clock", server_time=int(time.time())
        )
    return sender, timestamp, signature


def _authenticate(request, body: bytes) -> tuple[Link, str]:
    """The child link whose pinned key signed this request."""
    sender, timestamp, signature = _signed_headers(request)
    link = Link.objects.children().exclude(state=Link.State.PENDING).filter(peer_instance_id=sender).first()
    if link is None:
        raise Refusal(403, "unknown_sender", "this instance is not paired with us")
    path = request.get_full_path()
    if not envelope.verify_request(link.peer_public_key, request.method, path, timestamp, sender, body, signature):
        raise Refusal(401, "bad_signature", "the request's signature does not match the pinned key")
    if link.state == Link.State.SUSPENDED:
        raise Refusal(403, "suspended", "the link is suspended by the parent's administrator", signature=signature)
    return link, signature


@router.post("/pair", auth=None, include_in_schema=False)
def pair(request):
    """A child presents a one-time code and its key; we answer with ours."""
    body = request.body
    try:
        sender, timestamp, signature = _signed_headers(request)
        data = json.loads(body)
        fields = ("code", "instance_id", "public_key", "unit_code", "name")
        if not isinstance(data, dict) or any(not isinstance(data.get(f), str) for f in fields):
            raise Refusal(400, "malformed", "expected code, instance_id, public_key, unit_code and name")
        if sender != data["instance_id"] or not envelope.verify_request(
            data["public_key"], "POST", request.get_full_path(), timestamp, sender, body, signature
        ):
            raise Refusal(401, "bad_signature", "the request is not signed by the key it offers")
        pairing.accept(
            code=data["code"],
            instance_id=data["instance_id"],
            public_key=data["public_key"],
            unit_code=data["unit_code"],
            name=data["name"],
        )
    except Refusal as exc:
        return _refused(exc)
    except (ValueError, UnicodeDecodeError):
        return _refused(Refusal(400, "malformed", "the body is not JSON"))
    except DomainError as exc:
        return _answer(exc.status, exc.as_dict())
    mine = {
        "instance_id": identity.instance_id(),
        "public_key": identity.signer().public_key_b64,
        "unit_code": identity.unit_code(),
        "name": settings.CENTRAL_NAME or identity.unit_code(),
    }
    return _answer(200, pairing.sign_answer(mine), signature)


def _push(request, body: bytes) -> HttpResponse:
    """A child's messages up, applied in order; the answer says how far we got."""
    signature = ""
    try:
        link, signature = _authenticate(request, body)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Refusal(400, "malformed", "the body is not JSON", signature=signature) from None
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list) or len(messages) > 1000:
            raise Refusal(
                400, "malformed", 'expected {"messages": [...]} with at most 1000 messages', signature=signature
            )
        results = []
        for message in messages:
            try:
                results.append(receive(link, message, direction=kinds.UP).as_dict())
            except envelope.BadEnvelope as exc:
                status = 400 if exc.code == "malformed" else 403
                code = "bad_signature" if exc.code == "signature" else exc.code
                raise Refusal(status, code, exc.message, signature=signature, results=results,
                              received_seq=_received(link)) from None  # fmt: skip
            except OutOfOrder as exc:
                raise Refusal(409, "out_of_order", str(exc), signature=signature, expected_seq=exc.expected,
                              results=results, received_seq=_received(link)) from None  # fmt: skip
        Link.objects.filter(pk=link.pk).update(last_ok_at=timezone.now())
        return _answer(200, {"received_seq": _received(link), "results": results}, signature)
    except Refusal as exc:
        return _refused(exc)


def _received(link: Link) -> int:
    return Link.objects.values_list("received_seq", flat=True).get(pk=link.pk)


def _start_pull(request, body: bytes) -> tuple[Link, str, int]:
    link, signature = _authenticate(request, body)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        raise Refusal(400, "malformed", "after must be a whole number", signature=signature) from None
    sent = Link.objects.values_list("sent_seq", flat=True).get(pk=link.pk)
    if after < 0 or after > sent:
        # The child has applied more than we ever sent: we were restored from an older backup.
        raise Refusal(
            409, "ahead", "the child is ahead of what this instance has sent", last_seq=sent, signature=signature
        )
    # The child has applied everything up to `after`: those messages are delivered.
    link.outbox.filter(seq__lte=after, delivered_at__isnull=True).update(delivered_at=timezone.now())
    Link.objects.filter(pk=link.pk, acked_seq__lt=after).update(acked_seq=after)
    Link.objects.filter(pk=link.pk).update(last_ok_at=timezone.now())
    return link, signature, after


def _batch(link: Link, after: int) -> tuple[list[dict], int]:
    sent = Link.objects.values_list("sent_seq", flat=True).get(pk=link.pk)
    rows = link.outbox.filter(seq__gt=after).order_by("seq")[: settings.CENTRAL_BATCH]
    return identity.seal_outbox(link, rows), sent


async def _pull(request, body: bytes) -> HttpResponse:
    """Messages down after the child's cursor; waits up to `wait` seconds for the first one (long poll)."""
    try:
        link, signature, after = await sync_to_async(_start_pull)(request, body)
    except Refusal as exc:
        return _refused(exc)
    try:
        wait = max(0.0, min(float(request.GET.get("wait", "0")), float(settings.CENTRAL_LONG_POLL)))
    except ValueError:
        wait = 0.0
    deadline = time.monotonic() + wait
    while True:
        generation = outbox.generation()
        messages, sent = await sync_to_async(_batch)(link, after)
        left = deadline - time.monotonic()
        if messages or left <= 0:
            break
        # An enqueue in this process wakes us at once; one in another process is seen at the next look.
        until = time.monotonic() + min(POLL_SECONDS, left)
        while time.monotonic() < until and outbox.generation() == generation:
            await asyncio.sleep(0.05)
    return _answer(200, {"messages": messages, "last_seq": sent}, signature)


@router.api_operation(["GET", "POST"], "/messages", auth=None, include_in_schema=False)
async def messages(request):
    body = await sync_to_async(lambda: request.body)()
    if len(body) > MAX_BODY:
        return _refused(Refusal(413, "too_large", "the request is too large"))
    if request.method == "POST":
        return await sync_to_async(_push)(request, body)
    return await _pull(request, body)
