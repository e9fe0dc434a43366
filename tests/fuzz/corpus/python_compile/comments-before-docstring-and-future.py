#!/usr/bin/env python3
# A comment before the docstring.

"""The module docstring, after comments."""

from __future__ import annotations

def f(x):
    return x + 1
