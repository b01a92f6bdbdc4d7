"""fastnn.callbacks: Keras's callback hooks, History and the progress display."""
from fastnn.callbacks.base import Callback, CallbackList
from fastnn.callbacks.history import BaseLogger, History
from fastnn.callbacks.progbar import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "BaseLogger", "ProgbarLogger"]
