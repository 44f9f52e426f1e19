"""nguon-agent: the reference receiver of the Nguồn device protocol (version 1), and a fleet simulator."""

__version__ = "0.1.0"
PROTOCOL = 1
