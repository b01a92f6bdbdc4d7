"""fastnn.models: Sequential models, and loading them from files and configs."""
from fastnn.models.sequential import Sequential
from fastnn.saving.api import load_model, model_from_json, save_model  # noqa: F401
from fastnn.saving.serialization import model_from_config  # noqa: F401

__all__ = ["Sequential", "load_model", "model_from_config", "model_from_json", "save_model"]
