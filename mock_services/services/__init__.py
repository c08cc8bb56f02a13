"""The fake enterprise systems, one module each."""

from __future__ import annotations

from .crm import CrmService
from .erp import ErpService

__all__ = ["CrmService", "ErpService"]
