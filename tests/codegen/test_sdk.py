"""The generated SDK against a mock transport: retries, idempotency, typed errors, auth."""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from voulezvous_sdk import (
    AsyncControlPlaneClient,
    AsyncLabControlClient,
    AsyncPublicApiClient,
    ControlPlaneClient,
    HmacAuth,
    LabControlClient,
    LabSignatureAuth,
    PublicApiClient,
    RetryPolicy,
    UnexpectedStatusError,
)
from voulezvous_sdk.errors import ApiError, NotFoundError, SchemaInvalidError

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts" / "openapi"
SESSION_ID = "0b6f4a57-29a8-4c4b-9d3e-6c8e5f8a1d20"


def _example(contract: str, path: str, method: str, status: str) -> Any:
    doc = yaml.safe_load((CONTRACTS / contract).read_text())
    response = doc["paths"][path][method]["responses"][status]
    media = response["content"]["application/json"]
    return next(iter(media["examples"].values()))["value"]


def _problem(status: int, code: str) -> httpx.Response:
    body = {
        "type": "https://voulezvous.tv/problems/x",
        "title": code,
        "status": status,
        "code": code,
    }
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


class Recorder:
    """A mock server answering a scripted sequence and remembering each request."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)


def _public(recorder: Recorder, sleeps: list[float], **kw: Any) -> PublicApiClient:
    return PublicApiClient(
        "http://api.test",
        transport=httpx.MockTransport(recorder),
        sleep=sleeps.append,
        rng=random.Random(7),
        **kw,
    )


def test_retries_503_then_honours_retry_after_then_succeeds() -> None:
    ready = _example("public-api.yaml", "/v1/health/ready", "get", "200")
    recorder = Recorder(
        httpx.Response(503, json={}),
        httpx.Response(503, json={}, headers={"Retry-After": "1"}),
        httpx.Response(200, json=ready),
    )
    sleeps: list[float] = []
    with _public(recorder, sleeps) as client:
        result = client.health.get_readiness()
    assert len(recorder.requests) == 3
    assert result.model_dump(mode="json", exclude_unset=True) == ready
    # First wait: full jitter under the first backoff cap; second: exactly Retry-After.
    assert 0 <= sleeps[0] <= RetryPolicy().backoff_base_s
    assert sleeps[1] == 1.0


def test_a_400_is_not_retried_and_raises_its_typed_error() -> None:
    recorder = Recorder(_problem(422, "SCHEMA_INVALID"))
    sleeps: list[float] = []
    with _public(recorder, sleeps) as client, pytest.raises(SchemaInvalidError) as caught:
        client.inference.infer(body={"task": "judge", "strategy": "FASTEST", "payload": {}})  # type: ignore[arg-type]
    assert len(recorder.requests) == 1 and sleeps == []
    assert caught.value.status == 422 and caught.value.code == "SCHEMA_INVALID"


def test_post_retries_reuse_one_idempotency_key() -> None:
    answer = _example("public-api.yaml", "/v1/infer", "post", "200")
    recorder = Recorder(httpx.Response(503, json={}), httpx.Response(200, json=answer))
    sleeps: list[float] = []
    body = {"task": "expand_queries", "strategy": "FASTEST", "payload": {"seed": "abc"}}
    with _public(recorder, sleeps) as client:
        client.inference.infer(body=body)  # type: ignore[arg-type]
    keys = [r.headers["Idempotency-Key"] for r in recorder.requests]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    recorder = Recorder(httpx.Response(503, json={}), httpx.Response(200, json=answer))
    with _public(recorder, sleeps) as client:
        client.inference.infer(body=body, idempotency_key="mine-1")  # type: ignore[arg-type]
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == ["mine-1", "mine-1"]


def test_post_without_idempotency_is_not_retried() -> None:
    recorder = Recorder(_problem(503, "NOT_READY"))
    sleeps: list[float] = []
    client = LabControlClient(
        "http://lab.test", transport=httpx.MockTransport(recorder), sleep=sleeps.append
    )
    with client, pytest.raises(ApiError):
        client.control.pause_planner()
    assert len(recorder.requests) == 1 and sleeps == []


def test_declared_404_is_typed_and_undeclared_418_carries_the_body() -> None:
    recorder = Recorder(_problem(404, "NOT_FOUND"), httpx.Response(418, content=b"teapot"))
    client = ControlPlaneClient("http://cp.test", transport=httpx.MockTransport(recorder))
    with client:
        with pytest.raises(NotFoundError) as missing:
            client.sessions.get(session_id=SESSION_ID)  # type: ignore[arg-type]
        assert missing.value.problem["code"] == "NOT_FOUND"
        with pytest.raises(UnexpectedStatusError) as odd:
            client.sessions.get(session_id=SESSION_ID)  # type: ignore[arg-type]
    assert odd.value.status == 418 and odd.value.body == b"teapot"
    assert recorder.requests[0].url.path == f"/v1/sessions/{SESSION_ID}"


def test_retries_stop_after_max_attempts() -> None:
    recorder = Recorder(*[_problem(503, "NOT_READY") for _ in range(3)])
    sleeps: list[float] = []
    with _public(recorder, sleeps) as client, pytest.raises(ApiError) as caught:
        client.health.get_readiness()
    assert len(recorder.requests) == 3 and len(sleeps) == 2
    assert caught.value.code == "NOT_READY"


async def test_async_twin_retries_the_same_way() -> None:
    ready = _example("public-api.yaml", "/v1/health/ready", "get", "200")
    recorder = Recorder(
        httpx.Response(503, json={}, headers={"Retry-After": "1"}), httpx.Response(200, json=ready)
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with AsyncPublicApiClient(
        "http://api.test", transport=httpx.MockTransport(recorder), sleep=sleep
    ) as client:
        result = await client.health.get_readiness()
    assert result.model_dump(mode="json", exclude_unset=True) == ready
    assert sleeps == [1.0]


def _methods(obj: object) -> dict[str, tuple[object, str]]:
    """Each public method's parameters and return annotation (Async prefixes dropped)."""
    out = {}
    for name in dir(obj):
        if not name.startswith("_") and callable(getattr(obj, name)):
            signature = inspect.signature(getattr(obj, name))
            returns = str(signature.return_annotation).replace("AsyncIterator", "Iterator")
            out[name] = (signature.parameters, returns)
    return out


@pytest.mark.parametrize(
    ("sync_cls", "async_cls"),
    [
        (ControlPlaneClient, AsyncControlPlaneClient),
        (PublicApiClient, AsyncPublicApiClient),
        (LabControlClient, AsyncLabControlClient),
    ],
)
def test_sync_and_async_clients_have_identical_signatures(
    sync_cls: Callable[..., Any], async_cls: Callable[..., Any]
) -> None:
    sync, asynchronous = sync_cls("http://x.test"), async_cls("http://x.test")
    resources = [n for n in vars(sync) if not n.startswith("_")]
    assert resources and resources == [n for n in vars(asynchronous) if not n.startswith("_")]
    for name in resources:
        assert _methods(getattr(sync, name)) == _methods(getattr(asynchronous, name)), name


def test_pagination_iterates_every_page() -> None:
    page = _example("control-plane.yaml", "/v1/chat/threads/{thread_id}/messages", "get", "200")
    first = {**page, "next_cursor": "c2"}
    last = {**page, "next_cursor": None}
    recorder = Recorder(httpx.Response(200, json=first), httpx.Response(200, json=last))
    client = ControlPlaneClient("http://cp.test", transport=httpx.MockTransport(recorder))
    with client:
        items = list(client.chat.iter_list_messages(thread_id=SESSION_ID))  # type: ignore[arg-type]
    assert len(items) == 2 * len(page["items"])
    assert "cursor" not in recorder.requests[0].url.params
    assert recorder.requests[1].url.params["cursor"] == "c2"


def test_hmac_auth_signs_each_attempt_with_a_fresh_nonce() -> None:
    answer = _example("public-api.yaml", "/v1/infer", "post", "200")
    recorder = Recorder(httpx.Response(503, json={}), httpx.Response(200, json=answer))
    sleeps: list[float] = []
    auth = HmacAuth("vvtv-pub-001", "s3cret", clock=lambda: 1_700_000_000.0)
    body = {"task": "expand_queries", "strategy": "FASTEST", "payload": {"seed": "abc"}}
    with _public(recorder, sleeps, auth=auth) as client:
        client.inference.infer(body=body)  # type: ignore[arg-type]
    first, second = recorder.requests
    assert first.headers["X-Nonce"] != second.headers["X-Nonce"]
    for request in recorder.requests:
        message = "|".join(
            [
                "POST",
                "/v1/infer",
                request.content.decode(),
                "1700000000000",
                request.headers["X-Nonce"],
            ]
        )
        expected = hmac.new(b"s3cret", message.encode(), hashlib.sha256).digest()
        assert request.headers["X-Signature"] == base64.b64encode(expected).decode()
        assert request.headers["X-Api-Key"] == "vvtv-pub-001"
        assert json.loads(request.content) == body


def test_lab_signature_auth_follows_the_documented_canonical_string() -> None:
    recorder = Recorder(httpx.Response(200, json={}))
    auth = LabSignatureAuth("dev-token", "dev-secret", clock=lambda: 1_700_000_000.0)
    client = LabControlClient("http://lab.test", transport=httpx.MockTransport(recorder), auth=auth)
    with client, pytest.raises(Exception):  # noqa: B017 - the empty body does not validate
        client.control.pause_planner()
    (request,) = recorder.requests
    body = request.content.decode()
    canonical = f"POST\n/v1/control/planner/pause\n1700000000\n{body}"
    assert (
        request.headers["x-vvtv-signature"]
        == hmac.new(b"dev-secret", canonical.encode(), hashlib.sha256).hexdigest()
    )
    assert request.headers["Authorization"] == "Bearer dev-token"
    assert request.headers["x-vvtv-ts"] == "1700000000"
