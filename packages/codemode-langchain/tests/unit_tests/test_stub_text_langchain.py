"""What the model reads of a LangChain tool: its docstring at the stub's own indentation, and
its argument models under their own names."""

from __future__ import annotations

from langchain_core.tools import tool
from pydantic import BaseModel, Field

from codemode_langchain import create_codemode_tool


class Booking(BaseModel):
    """A hotel booking."""

    hotel: str
    nights: int = Field(description="How many nights")


@tool
def book_hotel(booking: Booking, note: str = "") -> str:
    """Book a hotel.

    Args:
        booking: What to book.
        note: A note for the hotel.
    """
    return f"booked {booking.hotel}"


EXPECTED_DOCSTRING = '''
    async def book_hotel(booking: Booking, note: str = '') -> str:
        """Book a hotel.

        Args:
            booking: What to book.
            note: A note for the hotel."""
'''


def test_docstring_is_dedented_and_argument_model_keeps_its_name() -> None:
    code_tool = create_codemode_tool([book_hotel], executor="inprocess")
    stubs = code_tool.code_mode.stubs
    assert EXPECTED_DOCSTRING in stubs
    assert "class Booking(TypedDict):" in stubs
    assert "BookHotelBooking" not in stubs


async def test_the_named_model_still_validates_and_converts() -> None:
    code_tool = create_codemode_tool([book_hotel], executor="inprocess")
    result = await code_tool.code_mode.run(
        'return await tools.book_hotel(booking={"hotel": "Ritz", "nights": 2})'
    )
    assert result.value == "booked Ritz"
    bad = await code_tool.code_mode.run('return await tools.book_hotel(booking={"hotel": 1})')
    assert bad.error is not None and "nights" in bad.error.message
