"""multi_gpu_model: Keras 2's data-parallel GPU wrapper, which a CPU library cannot offer."""

__all__ = ["multi_gpu_model"]


def multi_gpu_model(model, gpus=None, cpu_merge=True, cpu_relocation=False):
    """Always raises ValueError: fastnn runs on the CPU and has no GPUs to replicate onto.

    Keras 2's ``multi_gpu_model`` copied a model onto several GPUs. fastnn's kernels run
    on the CPU's cores instead (all of them unless OMP_NUM_THREADS says otherwise);
    ``fastnn.set_num_threads(n)`` chooses how many. The error is a ValueError because that is what Keras 2 raised on a
    machine without the requested GPUs, so code written as

        try:
            model = multi_gpu_model(model, gpus=2)
        except ValueError:
            pass  # single device

    keeps working unchanged.

    Args:
        model: The model Keras would replicate. Default required.
        gpus: The number (or list of ids) of GPUs Keras would use. Defaults to None.
        cpu_merge: Keras 2's option. Defaults to True.
        cpu_relocation: Keras 2's option. Defaults to False.

    Raises:
        ValueError: always.
    """
    raise ValueError(
        f"gpus: multi_gpu_model(gpus={gpus!r}) cannot run: fastnn is a CPU library and "
        f"uses no GPUs. Its kernels run on the CPU's cores with OpenMP threads; choose how "
        f"many with fastnn.set_num_threads(n) (now {_threads()}) and train the model "
        f"itself instead of a multi-GPU copy.")


def _threads():
    import fastnn
    return fastnn.get_num_threads()
