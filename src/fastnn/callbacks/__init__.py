"""fastnn.callbacks: Keras's callbacks, with tf.keras 2.21's (Keras 3's) semantics."""
from fastnn.callbacks.backup_and_restore import BackupAndRestore
from fastnn.callbacks.base import Callback, CallbackList
from fastnn.callbacks.csv_logger import CSVLogger
from fastnn.callbacks.early_stopping import EarlyStopping
from fastnn.callbacks.history import BaseLogger, History
from fastnn.callbacks.lambda_callback import LambdaCallback
from fastnn.callbacks.learning_rate_scheduler import LearningRateScheduler
from fastnn.callbacks.model_checkpoint import ModelCheckpoint
from fastnn.callbacks.progbar import ProgbarLogger
from fastnn.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from fastnn.callbacks.remote_monitor import RemoteMonitor
from fastnn.callbacks.tensorboard import TensorBoard
from fastnn.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "BaseLogger", "ProgbarLogger",
           "TerminateOnNaN", "ModelCheckpoint", "EarlyStopping", "RemoteMonitor",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "LambdaCallback",
           "TensorBoard", "BackupAndRestore"]
