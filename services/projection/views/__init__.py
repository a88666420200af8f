"""Read models of the projection service, one module per view."""

from services.projection.readmodel import ReadModel
from services.projection.views import projects

READ_MODELS: list[ReadModel] = [projects.model]
