"""Media providers behind one port."""

from runtime.media.fake import FakeMediaProvider
from runtime.media.provider import Endpoints, MediaProvider, MediaProviderError, TurnCredentials

__all__ = [
    "Endpoints",
    "FakeMediaProvider",
    "MediaProvider",
    "MediaProviderError",
    "TurnCredentials",
]
