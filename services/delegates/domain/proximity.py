"""The proximity rule (相邻相近原则): rank places by nearness to a project, deterministically.

Same township first (any of the candidate's places in any of the project's townships), then
the great-circle distance between the nearest pair of coordinates (rounded to 10 m, unknown
last), then the id. See docs/delegates.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from services.delegates.domain.facts import ProjectFact
from shared.contracts.projects import Location

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
PLACE_NAMES = {"home": "居住地", "work": "工作地", "group": "小组驻地", "constituency": "选区"}


@dataclass(frozen=True)
class Place:
    """A township with optional coordinates, and what it is to the candidate (home, work ...)."""

    kind: str
    township: str
    lat: float | None = None
    lon: float | None = None
    label: str | None = None

    @property
    def has_point(self) -> bool:
        """Whether the place has coordinates."""
        return self.lat is not None and self.lon is not None


def place(kind: str, location: Location) -> Place:
    """A place from a contract location."""
    return Place(kind, location.township, location.lat, location.lon, location.label)


def haversine_km(a: Place, b: Place) -> float:
    """Great-circle distance between two places with coordinates, in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))  # type: ignore[arg-type]
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Target:
    """A project's places: its townships and the locations that have coordinates."""

    townships: frozenset[str]
    points: tuple[Place, ...]

    @classmethod
    def of(cls, project: ProjectFact) -> Target:
        """The places of a project (townships named directly or through its locations)."""
        townships = frozenset(project.townships) | {loc.township for loc in project.locations}
        points = tuple(place("project", loc) for loc in project.locations if loc.lat is not None)
        return cls(townships, points)


@dataclass(frozen=True)
class Nearness:
    """How near one candidate is to a project, and why."""

    key: str
    same_township: bool
    township: str | None = None  # the shared township
    matched: str | None = None  # which place of the candidate is in it
    distance_km: float | None = None  # nearest pair of coordinates, rounded to 0.01 km
    via: str | None = None  # which place of the candidate is nearest
    near: str | None = None  # the project location it is nearest to

    def sort_key(self) -> tuple[int, int, float, str]:
        """Same township first, then known distance ascending, then id."""
        return (0 if self.same_township else 1, 0 if self.distance_km is not None else 1,
                self.distance_km or 0.0, self.key)

    @property
    def reason(self) -> str:
        """Why the candidate ranks where it does, in Chinese for the office."""
        parts = []
        if self.same_township:
            parts.append(f"{PLACE_NAMES.get(self.matched or '', '')}在{self.township}，与项目同一乡镇")
        else:
            parts.append("与项目不在同一乡镇")
        if self.distance_km is not None:
            where = f"“{self.near}”" if self.near else ""
            parts.append(f"{PLACE_NAMES.get(self.via or '', '')}距项目{where}约{self.distance_km:.2f}公里")
        elif not self.same_township:
            parts.append("无坐标可比")
        return "；".join(parts)


def nearness(key: str, places: Iterable[Place], target: Target) -> Nearness:
    """The nearness of one candidate's places to the project's places."""
    places = list(places)
    same = next((p for p in places if p.township in target.townships), None)
    best: tuple[float, Place, Place] | None = None
    for p in places:
        if not p.has_point:
            continue
        for q in target.points:
            d = haversine_km(p, q)
            if best is None or d < best[0]:
                best = (d, p, q)
    return Nearness(
        key=key, same_township=same is not None, township=same.township if same else None,
        matched=same.kind if same else None,
        distance_km=round(best[0], 2) if best else None, via=best[1].kind if best else None,
        near=(best[2].label or best[2].township) if best else None,
    )


def rank(candidates: Iterable[tuple[str, Iterable[Place]]], target: Target) -> list[Nearness]:
    """Candidates (id, places) from nearest to farthest; ties broken by id."""
    return sorted((nearness(key, places, target) for key, places in candidates), key=Nearness.sort_key)
