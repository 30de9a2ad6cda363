"""kratomwatch: clinical monitoring of kratom use."""

__version__ = "0.1.0"
