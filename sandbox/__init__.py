"""Darkroom's local provider: speaks the neuroflash and NanoGPT wire formats over real HTTP.

It shares no code with `providers/` or the apps on purpose: it is the other side of the wire,
and sharing code would let it agree with a client's bug. See `sandbox/README.md`.
"""
