"""The ``vvtv`` command line: the composition root that may import every part."""

__all__: list[str] = []
