"""edgespec: a declarative deployment-spec compiler for edge AI."""

__version__ = "0.1.0"
