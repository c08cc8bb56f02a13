"""Renderers: turn results into text, JSON, JUnit XML or Gradescope files. They never compute."""
from __future__ import annotations

from .gradescope import to_gradescope
from .json_result import to_json, to_dict
from .junit import to_junit
from .text import to_text

FORMATS = {"text": to_text, "json": to_json, "junit": to_junit, "gradescope": to_gradescope}

__all__ = ["FORMATS", "to_text", "to_json", "to_dict", "to_junit", "to_gradescope"]
