"""Boards (city board for now), answered from the supervision view's tables."""

from __future__ import annotations

from services.projection.supervision_query import city_board
from shared.contracts.projection import CityBoard
from shared.readmodel import ReadModel

VIEW = "board"

# No tables of its own: the board reads the supervision view's tables.
model = ReadModel(name="board")

QUERIES = {CityBoard: city_board}
