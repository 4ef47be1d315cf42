"""Plain tool functions in a module with postponed annotations (all of them are strings)."""

from __future__ import annotations

import datetime

from llama_index.core.workflow import Context
from pydantic import BaseModel
from typing_extensions import TypedDict


class Booking(BaseModel):
    hotel: str
    nights: int


class Quote(TypedDict):
    total: float
    day: str


def book(booking: Booking, day: datetime.date, note: str | None = None) -> Quote:
    """Book a hotel."""
    return {"total": 10.0 * booking.nights, "day": day.isoformat()}


async def run_name(ctx: Context) -> str:
    """The workflow run's name (needs the workflow Context)."""
    return "run"
