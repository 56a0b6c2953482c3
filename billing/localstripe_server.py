"""Run localstripe (a stateful fake Stripe API) as the test-mode payment processor.

localstripe's own CLI listens on every interface and keeps its state in
``/tmp/localstripe.pickle``; this launcher binds it to one address and keeps the state in a
directory we choose, and it adds what localstripe lacks from Stripe's API: an
``Idempotency-Key`` on a POST replays the first answer instead of running the request again,
a PaymentIntent for less than Stripe's minimum charge is refused (``amount_too_small``), and
so is one in a three-decimal currency whose amount does not end in 0 (``invalid_request_error``),
and a refund can fail after it was made, as Stripe's do when the card cannot take the money
back (``POST /_edgeplug/refunds/{id}/fail``, a test control like localstripe's ``/_config``).
Used by the test suite and ``make run``; never in production.

    python -m billing.localstripe_server --host 127.0.0.1 --port 8420 --data-dir var/localstripe
"""

import argparse
import hashlib
import pickle
import socket
from pathlib import Path

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

from billing.charge_minimums import MAXIMUM_CHARGE, charge_step, minimum_charge


def _keep_state_in(directory: Path) -> None:
    path = directory / "localstripe.pickle"

    def load(store) -> None:
        if path.exists():
            with path.open("rb") as f:
                state = pickle.load(f)  # noqa: S301 - our own file, written by dump below
            store.clear()
            store.update(state)

    def dump(store) -> None:
        with path.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump


def _idempotent_posts(app: web.Application) -> None:
    """Stripe answers a POST repeated with the same ``Idempotency-Key`` with the first
    response (errors included), and refuses the key with other parameters; localstripe runs
    every request. Keys live as long as the process (Stripe keeps them at least 24 hours)."""
    answers: dict[str, tuple[str, int, bytes, str]] = {}

    @web.middleware
    async def replay(request: web.Request, handler):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        body = await request.read()
        fingerprint = hashlib.sha256(request.path_qs.encode() + b"\0" + body).hexdigest()
        if key in answers:
            seen, status, text, content_type = answers[key]
            if seen != fingerprint:
                return web.json_response(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with "
                            "the same parameters they were first used with.",
                        }
                    },
                    status=400,
                )
            response = web.Response(body=text, status=status, content_type=content_type)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        response = await handler(request)
        if response.status < 500 and isinstance(response, web.Response):
            answers[key] = (fingerprint, response.status, response.body, response.content_type)
        return response

    app.middlewares.insert(0, replay)


def _refusal(amount: int, currency: str) -> dict | None:
    """Stripe's 400 error for a PaymentIntent of ``amount`` it would not create, or None:
    below the currency's minimum charge (``amount_too_small``), above the largest
    (``amount_too_large``), or, in a three-decimal
    currency (BHD, JOD, KWD, OMR, TND), not a multiple of 10 minor units (no code, on
    ``amount``; ``billing.charge_minimums``)."""
    minimum, step = minimum_charge(currency), charge_step(currency)
    if amount > MAXIMUM_CHARGE:
        return {
            "type": "invalid_request_error",
            "code": "amount_too_large",
            "param": "amount",
            "message": f"Amount must be no more than {MAXIMUM_CHARGE} {currency} (minor units).",
        }
    if amount < minimum:
        return {
            "type": "invalid_request_error",
            "code": "amount_too_small",
            "param": "amount",
            "message": f"Amount must be at least {minimum} {currency} (minor units).",
        }
    if amount % step:
        return {
            "type": "invalid_request_error",
            "param": "amount",
            "message": f"Amounts in {currency.upper()} must be a multiple of {step} minor "
            f"units (the last digit 0): {amount} is not.",
        }
    return None


def _chargeable_amounts(app: web.Application) -> None:
    """Stripe refuses to create a PaymentIntent it cannot charge (``_refusal``); localstripe
    takes any amount. Inside the replay: Stripe saves that answer under the idempotency key."""

    @web.middleware
    async def refuse_unchargeable(request: web.Request, handler):
        if request.method != "POST" or request.path != "/v1/payment_intents":
            return await handler(request)
        form = await request.post()
        amount = str(form.get("amount", ""))
        error = _refusal(int(amount), str(form.get("currency", ""))) if amount.isdigit() else None
        if error is not None:
            return web.json_response({"error": error}, status=400)
        return await handler(request)

    app.middlewares.append(refuse_unchargeable)


def _failing_refunds(app: web.Application) -> None:
    """Stripe fails a refund it accepted when the card cannot take the money back (closed,
    lost): the refund's ``status`` turns ``failed`` with a ``failure_reason``, and its amount
    no longer counts in the charge's ``amount_refunded``. localstripe's refunds always
    succeed; ``POST /_edgeplug/refunds/{id}/fail`` (form field ``failure_reason``, default
    ``unknown``) makes one fail so. The webhook that tells of it is the caller's to send."""

    async def fail(request: web.Request) -> web.Response:
        try:
            refund = resources.Refund._api_retrieve(request.match_info["id"])
        except UserError as error:
            return error.to_response()
        form = await request.post()
        refund.status = "failed"
        refund.failure_reason = str(form.get("failure_reason") or "unknown")
        server.store.dump_to_disk()  # as localstripe does after each of its own writes
        return web.json_response(refund._export())

    resources.Charge.amount_refunded = property(
        lambda charge: sum(r.amount for r in charge.refunds._list if r.status != "failed")
    )
    app.router.add_post("/_edgeplug/refunds/{id}/fail", fail)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--from-scratch", action="store_true")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    _keep_state_in(args.data_dir)
    _idempotent_posts(server.app)
    _chargeable_amounts(server.app)
    _failing_refunds(server.app)
    if not args.from_scratch:
        server.store.try_load_from_disk()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    print(f"localstripe (TEST MODE) on http://{args.host}:{args.port}", flush=True)
    web.run_app(server.app, sock=sock, print=None)


if __name__ == "__main__":
    main()
