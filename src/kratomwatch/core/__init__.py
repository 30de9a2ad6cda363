"""Pure domain core: no Django, no I/O, no clock (time is always a parameter)."""
