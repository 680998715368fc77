"""The base class every model object shares: frozen (inert config) and strict about unknown keys."""

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Frozen and extra="forbid", so a misspelt key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
