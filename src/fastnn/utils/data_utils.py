"""Sequence (PyDataset): a dataset that returns whole batches by index."""

__all__ = ["Sequence", "PyDataset"]


class PyDataset:
    """Base class of datasets that return batches by index, for fit, evaluate and predict.

    Implement ``__len__`` (the number of batches) and ``__getitem__(index)`` returning
    ``x``, ``(x, y)`` or ``(x, y, sample_weight)``; ``on_epoch_end`` runs after each epoch.
    With workers > 1 the batches are fetched ahead in threads (or in processes when
    use_multiprocessing is True), at most max_queue_size at a time.

    Args:
        workers: how many batches to fetch in parallel. Defaults to 1.
        use_multiprocessing: fetch in processes instead of threads. Defaults to False.
        max_queue_size: how many batches may wait fetched. Defaults to 10.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_end(self):
        """Called at the end of every epoch (shuffle here)."""


Sequence = PyDataset
