"""Media providers behind one port."""

from runtime.media.cloudflare import CloudflareRealtimeProvider
from runtime.media.fake import FakeMediaProvider
from runtime.media.local import LocalMediaProvider
from runtime.media.provider import Endpoints, MediaProvider, MediaProviderError, TurnCredentials

__all__ = [
    "CloudflareRealtimeProvider",
    "Endpoints",
    "FakeMediaProvider",
    "LocalMediaProvider",
    "MediaProvider",
    "MediaProviderError",
    "TurnCredentials",
]
