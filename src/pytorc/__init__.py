"""pytorc: Torc, the HPC workflow manager, in Python."""

__version__ = "0.1.0"
API_VERSION = "0.21.0"
