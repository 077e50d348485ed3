"""Live HLS: the rules a live playlist must keep, checked on what clients would read."""

from lab.hls.rules import LivePlaylist, Violation, check_live_playlist, read_live_playlist

__all__ = ["LivePlaylist", "Violation", "check_live_playlist", "read_live_playlist"]
