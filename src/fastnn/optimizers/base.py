"""The Optimizer base class: learning rate, clipping, weight decay, state and config.

An optimizer updates Variables in place. Each ``apply`` does, as Keras 3 does:
  1. drop variables whose gradient is None;
  2. clip the gradients (clipnorm, global_clipnorm or clipvalue: the C kernels clip as they
     read, so the caller's gradient arrays are never modified);
  3. decay the weights, ``w -= w * weight_decay * lr``, when weight_decay is set;
  4. run the optimizer's update, one fused C pass per variable;
  5. apply each variable's constraint, mark it changed (``touch``), and count the step.
Scalars that depend on the step (bias corrections) are computed once per apply and dtype,
in the variable's float type, before the element-wise part, as Keras computes them.
"""
import math
import numbers
import warnings

import numpy as np

from fastnn import _core, backend
from fastnn.optimizers import schedules as _schedules
from fastnn.optimizers.schedules import _pow  # noqa: F401  (for Nadam and Adamax)
from fastnn.optimizers.state import OptimizerState, _unwrap

__all__ = ["Optimizer"]


def _real(value, name, lo=None, hi=None, allow_none=False):
    """A finite-or-inf real number in [lo, hi] as a float (None passes when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, received {type(value).__name__} "
                        f"{value!r}")
    v = float(value)
    if math.isnan(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        if lo is not None and hi is not None:
            want = f"a number in [{lo}, {hi}]"
        elif lo is not None:
            want = f"a number >= {lo}"
        else:
            want = "a number"
        raise ValueError(f"{name}: expected {want}, received {value!r}")
    return v


class _LearningRate(float):
    """The current learning rate as a float that also answers Keras's ``.numpy()``."""

    __slots__ = ()

    def numpy(self):
        return np.array(float(self), dtype=backend.floatx())


class Optimizer(OptimizerState):
    """The base class of fastnn's optimizers (keras.optimizers.Optimizer).

    Subclasses name their slot arrays in ``_slot_groups`` and implement ``_step_scalars``
    and ``_update``.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule, or a callable with no arguments
            that returns the rate. Default required.
        weight_decay: If set, ``w -= w * weight_decay * lr`` before each update. Defaults to
            None.
        clipnorm: If set, each gradient is scaled so that its L2 norm is at most this.
            Defaults to None.
        clipvalue: If set, each gradient element is clipped to [-clipvalue, clipvalue].
            Defaults to None.
        global_clipnorm: If set, all gradients are scaled together so that their global
            L2 norm is at most this. Defaults to None.
        use_ema: Exponential moving average of the weights; not supported (must be False).
            Defaults to False.
        ema_momentum: Accepted for config compatibility. Defaults to 0.99.
        ema_overwrite_frequency: Accepted for config compatibility. Defaults to None.
        loss_scale_factor: Not supported (must be None). Defaults to None.
        gradient_accumulation_steps: Not supported (must be None). Defaults to None.
        name: The optimizer's name. Defaults to None: the snake_case class name, as Keras 3
            names optimizers ('sgd', 'rm_sprop', 'adam', 'adam_w'), except that Keras also
            appends _1, _2, ... to later unnamed ones, which fastnn does not (nothing looks
            optimizers up by name, and saved files then do not depend on what ran before).
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:  # Keras 2's name for learning_rate
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.",
                          stacklevel=3)
            learning_rate = kwargs.pop("lr")
        for legacy in ("jit_compile", "is_legacy_optimizer"):  # in Keras 2.11+ configs
            kwargs.pop(legacy, None)
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if use_ema:
            raise NotImplementedError("use_ema: exponential moving averages of the weights "
                                      "are not supported by fastnn; received use_ema=True")
        if loss_scale_factor is not None:
            raise NotImplementedError("loss_scale_factor: loss scaling is not supported by "
                                      f"fastnn; received {loss_scale_factor!r}")
        if gradient_accumulation_steps is not None:
            raise NotImplementedError("gradient_accumulation_steps: not supported by fastnn; "
                                      f"received {gradient_accumulation_steps!r}")
        if name is None:
            from fastnn._registry import to_snake_case
            name = to_snake_case(type(self).__name__)
        self.name = name
        self.weight_decay = _real(weight_decay, "weight_decay", lo=0.0, allow_none=True)
        self.clipnorm = _real(clipnorm, "clipnorm", lo=0.0, allow_none=True)
        self.clipvalue = _real(clipvalue, "clipvalue", lo=0.0, allow_none=True)
        self.global_clipnorm = _real(global_clipnorm, "global_clipnorm", lo=0.0,
                                     allow_none=True)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                             f"be set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.use_ema = False
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = None
        self.gradient_accumulation_steps = None
        self._iterations = 0
        self._engine_cache = None  # (grads, variables, checked work) of the training engine
        self._lr_cache = None
        self._learning_rate = None
        self._set_learning_rate(learning_rate)
        self.built = False
        self._trainable_variables = []
        self._index = {}
        self._slots = []  # per variable: {slot name: Variable}
        self._exclude_ids = set()
        self._exclude_names = ()

    # ---- learning rate and iterations ------------------------------------------------------

    def _set_learning_rate(self, value):
        if isinstance(value, _schedules.LearningRateSchedule) or (
                callable(value) and not isinstance(value, numbers.Real)):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object "
                            "as its `learning_rate` constructor argument, hence its learning "
                            "rate is not settable. If you need the learning rate to be "
                            "settable, you should instantiate the optimizer with a float "
                            "`learning_rate` argument.")
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        v = _real(value, "learning_rate", lo=0.0)
        if math.isinf(v):
            raise ValueError(f"learning_rate: expected a finite number >= 0, received {value!r}")
        # Keras keeps the rate in a floatx variable.
        self._learning_rate = float(np.dtype(backend.floatx()).type(v))

    def _current_learning_rate(self):
        """The rate for this step, as a NumPy scalar (float32 unless floatx says otherwise)."""
        lr = self._learning_rate
        if type(lr) is float:
            cache = self._lr_cache
            fx = backend.floatx()
            if cache is None or cache[0] != lr or cache[1] != fx:
                cache = self._lr_cache = (lr, fx, np.dtype(fx).type(lr))
            return cache[2]
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = lr(self._iterations)
        elif callable(lr):
            lr = lr()
        lr = np.asarray(lr)
        if lr.dtype.kind not in "iuf" or lr.ndim != 0:
            raise TypeError(f"learning_rate: the schedule or callable must return a scalar "
                            f"number, returned {lr!r}")
        return lr.astype(backend.floatx() if lr.dtype.kind != "f" else lr.dtype)[()]

    @property
    def learning_rate(self):
        """The current learning rate (a schedule is evaluated at the current step)."""
        return _LearningRate(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_learning_rate(value)

    @property
    def lr(self):
        """Keras 2's name for learning_rate."""
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self._set_learning_rate(value)

    @property
    def iterations(self):
        """The number of updates applied so far (an int)."""
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.ndarray)):
            raise TypeError(f"iterations: expected an int, received {type(value).__name__}")
        value = int(value)
        if value < 0:
            raise ValueError(f"iterations: expected an int >= 0, received {value}")
        self._iterations = value

    # ---- weight decay exclusions -----------------------------------------------------------

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables from weight decay (before build).

        Args:
            var_list: Variables to exclude. Defaults to None.
            var_names: Substrings; a variable whose name contains one is excluded. Defaults
                to None.
        """
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_names = tuple(var_names or ())

    def _use_weight_decay(self, var):
        if id(var) in self._exclude_ids:
            return False
        name = str(getattr(var, "name", ""))
        return not any(s in name for s in self._exclude_names)

    # ---- applying gradients ----------------------------------------------------------------

    def apply_gradients(self, grads_and_vars):
        """Apply (gradient, variable) pairs; returns the iteration count.

        Args:
            grads_and_vars: An iterable of (gradient array or None, Variable). Default
                required.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, variables = zip(*pairs)
        self.apply(list(grads), list(variables))
        return self._iterations

    def _check_grad(self, k, g, var, w):
        if not isinstance(g, np.ndarray):
            g = np.asarray(g)
        if g.dtype.kind != "f":
            raise TypeError(f"grads[{k}]: expected a floating-point gradient for variable "
                            f"'{getattr(var, 'path', k)}', received dtype {g.dtype}")
        if g.shape != w.shape:
            raise ValueError(f"grads[{k}]: expected shape {w.shape} for variable "
                             f"'{getattr(var, 'path', k)}', received {g.shape}")
        if g.dtype != w.dtype or not g.flags.c_contiguous or not g.flags.aligned:
            g = np.ascontiguousarray(g, dtype=w.dtype)  # Keras casts to the variable's dtype
        return g

    def apply(self, grads, trainable_variables=None):
        """Update the variables with their gradients, in place.

        Args:
            grads: One array (the variable's shape; None to skip it) per variable.
                Default required.
            trainable_variables: The variables, in the same order; needed on the first call
                unless build() was called. Defaults to None (the built variables).
        """
        grads = list(grads)
        if not grads:
            return
        self._apply_work(self._work(grads, trainable_variables))

    def _engine_apply(self, grads, variables):
        """apply() for the training engine, whose gradient buffers are the same arrays on
        every step (the variables' shapes and dtypes, C-contiguous): they are checked on the
        first step only; the arithmetic is apply()'s."""
        cached = self._engine_prepared(grads, variables)
        self._apply_work(cached[2], cached[3])

    def _engine_prepared(self, grads, variables):
        """(grads, variables, work, prepared) for the engine's buffers, made on first use."""
        cached = self._engine_cache
        if cached is None or cached[0] is not grads or cached[1] is not variables:
            work = self._work(list(grads), variables)
            cached = self._engine_cache = (grads, variables, work, self._prepare(work))
        return cached

    def _engine_chain_update(self, grads, variables):
        """This step's update as arguments for TrainChain.step, which runs it right after the
        backward pass in the same C call; None when it must run through _engine_apply. When
        arguments are returned, the caller runs the chain and then _engine_finish()."""
        cached = self._engine_prepared(grads, variables)
        group = cached[3][3]
        if (group is None or not hasattr(group, "chain_args") or self.weight_decay is not None
                or self._clipping()):
            return None
        lr = self._current_learning_rate()
        self._before_update(cached[2])
        t = cached[3][0][0][1].dtype.type
        lr_t = t(lr)
        return group.chain_args(float(lr_t), self._step_scalars(t, lr_t))

    def _engine_finish(self):
        """What _apply_work does after the updates, for a step whose update ran in C."""
        _, constrained, touches, _ = self._engine_cache[3]
        self._after_updates(constrained, touches)

    def _after_updates(self, constrained, touches):
        """Constraints, change marks and the step count, once the variables are updated."""
        for w, c in constrained:
            np.copyto(w, np.asarray(c(w)), casting="unsafe")
        for touch in touches:
            touch()
        self._iterations += 1

    def _clipping(self):
        """Whether gradients are clipped (by value, norm or global norm)."""
        return bool((self.clipnorm and self.clipnorm > 0) or
                    (self.global_clipnorm and self.global_clipnorm > 0) or
                    (self.clipvalue and self.clipvalue > 0))

    def _prepare(self, work):
        """What each step needs of work, looked up once: (slots, array, grad, var) per entry
        and (array, constraint) for the constrained variables."""
        slots = self._slots
        entries = [(slots[i], w, g, v) for i, v, w, g in work]
        constrained = [(w, v.constraint) for _, v, w, _ in work
                       if getattr(v, "constraint", None) is not None]
        touches = [v.touch for _, v, _, _ in work if hasattr(v, "touch")]
        same_dtype = len({w.dtype for _, _, w, _ in work}) == 1
        return entries, constrained, touches, self._group(entries) if same_dtype else None

    def _group(self, entries):
        """A callable (lr, scalars) that updates every entry in one call, or None. Used only
        on steps without clipping or weight decay; it must give _update's bits."""
        return None

    def _work(self, grads, trainable_variables):
        """Check grads against the variables; return [(slot index, var, array, grad)]."""
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must "
                                 "already be built on a list of variables. Call "
                                 "`optimizer.build(trainable_variables)` first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(f"grads: expected one gradient per variable "
                                 f"({len(self._trainable_variables)}), received {len(grads)}")
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            if len(variables) != len(grads):
                raise ValueError(f"grads: expected one gradient per variable "
                                 f"({len(variables)}), received {len(grads)}")
            if not self.built:
                self.build(variables)
            for v in variables:
                if id(v) not in self._index:
                    raise ValueError(f"Unknown variable: {v!r}. This optimizer can only be "
                                     f"called for the variables it was originally built with. "
                                     f"When working with a new set of variables, you should "
                                     f"recreate a new optimizer instance.")
        work = []
        missing = []
        for k, (g, v) in enumerate(zip(grads, variables)):
            if g is None:
                missing.append(getattr(v, "name", k))
                continue
            w = _unwrap(v)
            work.append((self._index[id(v)], v, w, self._check_grad(k, g, v, w)))
        if not work:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the "
                          f"loss. If using `model.compile()`, did you forget to provide a "
                          f"`loss` argument?", stacklevel=2)
        return work

    def _apply_work(self, work, prepared=None):
        entries, constrained, touches, group = prepared or self._prepare(work)
        clips = self._clip_specs([g for _, _, _, g in work]) if self._clipping() else None
        lr = self._current_learning_rate()
        self._before_update(work)
        cache = {}
        has_wd = self.weight_decay is not None
        update = self._update
        if group is not None and clips is None and not has_wd:
            t = entries[0][1].dtype.type
            lr_t = t(lr)
            group(float(lr_t), self._step_scalars(t, lr_t))
            entries = ()
        for k, (slots, w, g, v) in enumerate(entries):
            dt = w.dtype
            sc = cache.get(dt)
            if sc is None:
                lr_t = dt.type(lr)
                sc = cache[dt] = (float(lr_t), self._step_scalars(dt.type, lr_t))
            wd = self.weight_decay if has_wd and self._use_weight_decay(v) else 0.0
            update(slots, w, g, sc[0], wd, None if clips is None else clips[k], sc[1])
        self._after_updates(constrained, touches)

    def _clip_specs(self, grads):
        """Per gradient: None or the (mode, a, b) clip the kernels apply as they read it."""
        if self.clipnorm and self.clipnorm > 0:
            out = []
            for g in grads:
                t = g.dtype.type
                norm = t(math.sqrt(_core.sum_squares(g)))
                c = t(self.clipnorm)
                out.append((_core.CLIP_NORM, self.clipnorm, float(max(norm, c))))
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            total = 0.0
            for g in grads:
                total += _core.sum_squares(g)
            t = grads[0].dtype.type
            use_norm = t(math.sqrt(total)) if math.isfinite(total) else t(total)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                c = t(self.global_clipnorm)
                scale = c * np.minimum(t(1.0) / use_norm, t(1.0 / self.global_clipnorm))
                scale = scale + (use_norm - use_norm)
            return [(_core.CLIP_SCALE, float(scale), 1.0)] * len(grads)
        if self.clipvalue and self.clipvalue > 0:
            return [(_core.CLIP_VALUE, self.clipvalue, 0.0)] * len(grads)
        return [None] * len(grads)

    def _before_update(self, work):
        """Optimizer-wide work once per apply, before the per-variable updates."""

    def _step_scalars(self, t, lr_t):
        """Step-dependent scalars in float type t (a NumPy scalar type), shared by variables."""
        return ()

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        raise NotImplementedError

    # ---- config ----------------------------------------------------------------------------

    def get_config(self):
        """Return the constructor arguments as a JSON-friendly dict (Keras 3's keys)."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        elif callable(lr):
            lr = {"module": getattr(lr, "__module__", None), "class_name": "function",
                  "config": getattr(lr, "__name__", repr(lr)),
                  "registered_name": getattr(lr, "__name__", None)}
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Create an optimizer (without state) from get_config()'s dict.

        Args:
            config: The dict. Default required.
            custom_objects: Names of user schedules. Defaults to None.
        """
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            if lr.get("class_name") == "function":
                from fastnn._registry import global_custom_objects
                name = lr.get("registered_name") or lr.get("config")
                table = dict(global_custom_objects)
                table.update(custom_objects or {})
                if name not in table:
                    raise ValueError(f"learning_rate: unknown function {name!r}; pass it in "
                                     f"custom_objects")
                config["learning_rate"] = table[name]
            else:
                config["learning_rate"] = _schedules.deserialize(lr, custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, iterations={self._iterations}>"
