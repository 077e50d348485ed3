"""The discovery sources' parsers and factory, from strings: no network, no disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lab.sources import (
    FolderSource,
    HttpIndexSource,
    M3uSource,
    RssSource,
    Source,
    SourceError,
    build_source,
    build_sources,
    locator_hash,
    parse_duration,
    parse_index_links,
    parse_m3u,
    parse_rss,
    parse_sha256_sidecar,
    redact_url,
)

NGINX_INDEX = """<html><head><title>Index of /media/</title></head><body>
<h1>Index of /media/</h1><hr><pre><a href="../">../</a>
<a href="sub/">sub/</a>                                   01-Jan-2025 00:00       -
<a href="Evening%20News.mp4">Evening News.mp4</a>         01-Jan-2025 00:00    1048576
<a href="Evening%20News.mp4.sha256">Evening News.mp4.sha256</a> 01-Jan-2025 00:00 83
<a href="notes.txt">notes.txt</a>                         01-Jan-2025 00:00      12
<a href="http://elsewhere.example/x.mp4">elsewhere</a>
<a href="/other/y.mp4">other dir</a>
<a href="?C=N;O=D">Name</a>
<a href="clip_two.MKV#frag">clip_two.MKV</a>
<a href="clip_two.MKV">clip_two.MKV again</a>
</pre><hr></body></html>"""

PYTHON_INDEX = """<!DOCTYPE HTML><html lang="en"><head><meta charset="utf-8">
<title>Directory listing for /</title></head><body><h1>Directory listing for /</h1>
<hr><ul><li><a href="a.webm">a.webm</a></li><li><a href="b.mp3">b.mp3</a></li>
<li><a href="dir/">dir/</a></li></ul><hr></body></html>"""


def test_index_links_keep_only_this_directorys_files() -> None:
    links = parse_index_links(NGINX_INDEX, "https://media.example/media/")
    assert links == [
        "https://media.example/media/Evening%20News.mp4",
        "https://media.example/media/Evening%20News.mp4.sha256",
        "https://media.example/media/notes.txt",
        "https://media.example/media/clip_two.MKV",
    ]


def test_index_links_from_a_python_http_server_page_and_a_slashless_base() -> None:
    assert parse_index_links(PYTHON_INDEX, "http://127.0.0.1:8000/") == [
        "http://127.0.0.1:8000/a.webm",
        "http://127.0.0.1:8000/b.mp3",
    ]
    assert parse_index_links('<a href="a.mp4">a</a>', "http://h/media") == ["http://h/media/a.mp4"]
    assert parse_index_links('<a href="a.mp4">a</a>', "http://h/media/index.html") == [
        "http://h/media/a.mp4"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{h}  Evening News.mp4\n",
        "{h} *Evening News.mp4",
        "SHA256 (Evening News.mp4) = {h}",
        "{H}",
    ],
)
def test_sidecar_formats(text: str) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert parse_sha256_sidecar(text.format(h=digest, H=digest.upper())) == digest


def test_sidecar_without_a_hash() -> None:
    assert parse_sha256_sidecar("not a checksum\n") is None
    assert parse_sha256_sidecar("a" * 65) is None  # too long to be a sha256


M3U = """\ufeff#EXTM3U
#EXTINF:123.5 tvg-id="news" group-title="Daily",Evening News
clips/evening news.mp4
#EXTVLCOPT:network-caching=1000
#EXTINF:-1,Live Thing
https://cdn.example/live/thing.ts?token=secret

# a plain comment
/abs/path/Third_Clip.mkv
nested/other.m3u8
"""


def test_m3u_entries_titles_durations_and_resolution() -> None:
    items = parse_m3u(M3U, source="pl", base="file:///srv/lists/main.m3u")
    assert [item.uri for item in items] == [
        "file:///srv/lists/clips/evening%20news.mp4",
        "https://cdn.example/live/thing.ts?token=secret",
        "file:///abs/path/Third_Clip.mkv",
    ]
    first, second, third = items
    assert (first.title, first.duration_s) == ("Evening News", 123.5)
    assert dict(first.metadata) == {"tvg-id": "news", "group-title": "Daily"}
    assert (second.title, second.duration_s) == ("Live Thing", None)  # -1: unknown
    assert (third.title, third.duration_s) == ("Third Clip", None)  # no EXTINF: from the name
    assert all(item.source == "pl" and item.expected_sha256 is None for item in items)
    assert first.content_hash == locator_hash(first.uri)
    assert len({item.content_hash for item in items}) == 3


def test_m3u_relative_to_an_http_playlist() -> None:
    (item,) = parse_m3u("#EXTINF:10,A\nsub/a b.mp4\n", source="pl", base="http://h/l/x.m3u")
    assert item.uri == "http://h/l/sub/a%20b.mp4"


def test_m3u_refuses_an_hls_playlist() -> None:
    with pytest.raises(SourceError, match="HLS"):
        parse_m3u("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nseg0.ts\n", source="s", base="")


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Feed</title>
  <item>
    <title>Episode One</title><guid>ep-1</guid>
    <itunes:duration>1:02:03</itunes:duration>
    <enclosure url="https://cdn.example/ep1.mp4" length="5000" type="video/mp4"/>
  </item>
  <item>
    <title>Episode Two &amp; More</title>
    <enclosure url="/media/ep2.mp3" length="0" type="audio/mpeg"/>
    <enclosure url="/media/ep2.pdf" length="10" type="application/pdf"/>
  </item>
  <item><title>Untyped</title><enclosure url="https://cdn.example/ep3.mkv"/></item>
  <item><title>No enclosure</title><link>https://example/post</link></item>
</channel></rss>"""


def test_rss_enclosures_with_titles_lengths_and_types() -> None:
    items = parse_rss(RSS, source="feed", base="https://feeds.example/podcast.xml")
    assert [(i.uri, i.title, i.size_bytes) for i in items] == [
        ("https://cdn.example/ep1.mp4", "Episode One", 5000),
        ("https://feeds.example/media/ep2.mp3", "Episode Two & More", None),
        ("https://cdn.example/ep3.mkv", "Untyped", None),
    ]
    first = items[0]
    assert first.duration_s == 3723.0
    assert first.metadata["mime_type"] == "video/mp4"
    assert first.metadata["guid"] == "ep-1"
    assert first.content_hash == locator_hash("https://cdn.example/ep1.mp4", 5000)


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;">]>'
        b"<rss><channel><item><title>&l2;</title></item></channel></rss>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><item><title>&x;</title></item></channel></rss>",
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "b">]><rss/>'.encode(
            "utf-16"
        ),
    ],
)
def test_rss_with_a_dtd_is_refused(doc: bytes) -> None:
    with pytest.raises(SourceError, match="DTD"):
        parse_rss(doc, source="feed")


def test_rss_malformed_or_not_rss() -> None:
    with pytest.raises(SourceError, match="well-formed"):
        parse_rss(b"<rss><channel>", source="feed")
    with pytest.raises(SourceError, match="not an RSS feed"):
        parse_rss(b"<feed xmlns='http://www.w3.org/2005/Atom'/>", source="feed")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("42", 42.0), ("3:05", 185.0), ("1:00:00", 3600.0), ("12.5", 12.5), ("", None), ("x", None)],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_factory_builds_each_kind(tmp_path: Path) -> None:
    built = build_sources(
        [
            {"name": "disk", "kind": "folder", "path": str(tmp_path), "extensions": ["mp4"]},
            {"name": "mirror", "kind": "http_index", "url": "https://m.example/media/"},
            {"name": "list", "kind": "m3u", "path": str(tmp_path / "a.m3u")},
            {"name": "pod", "kind": "rss", "url": "https://f.example/feed.xml", "timeout_s": 5},
        ]
    )
    assert [type(source) for source in built] == [
        FolderSource,
        HttpIndexSource,
        M3uSource,
        RssSource,
    ]
    assert all(isinstance(source, Source) for source in built)
    assert [source.name for source in built] == ["disk", "mirror", "list", "pod"]
    folder = built[0]
    assert isinstance(folder, FolderSource) and folder.extensions == frozenset({".mp4"})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "folder", "path": "/x"}, "'name'"),
        ({"name": "a", "kind": "ftp", "url": "ftp://x"}, "kind must be one of"),
        ({"name": "a", "kind": "folder"}, "'path'"),
        ({"name": "a", "kind": "folder", "path": "/x", "pth": 1}, "unknown keys"),
        ({"name": "a", "kind": "m3u", "path": "/x", "url": "http://x"}, "exactly one"),
        ({"name": "a", "kind": "rss"}, "exactly one"),
        ({"name": "a", "kind": "http_index", "url": "file:///x"}, "http"),
        ({"name": "a", "kind": "rss", "url": "http://x", "timeout_s": 0}, "positive"),
        ({"name": "a", "kind": "folder", "path": "/x", "extensions": "mp4"}, "list"),
    ],
)
def test_factory_refuses_bad_config(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_source(config)


def test_factory_refuses_duplicate_names(tmp_path: Path) -> None:
    config = {"name": "same", "kind": "folder", "path": str(tmp_path)}
    with pytest.raises(ValueError, match="duplicate"):
        build_sources([config, config])


def test_redact_url_drops_credentials_and_query() -> None:
    assert redact_url("https://user:pw@h.example:8443/a/b.mp4?token=s#f") == (
        "https://h.example:8443/a/b.mp4"
    )
    assert redact_url("/plain/path.mp4") == "/plain/path.mp4"
    assert "pw" not in repr(HttpIndexSource("x", "https://u:pw@h/media/?k=v"))
