"""The optimizer's state: its slot arrays, and reading and writing them for saving.

Mixed into Optimizer. ``get_state``/``set_state`` give a fastnn order that is simple to
resume from; ``variables`` and ``save_own_variables``/``load_own_variables`` follow Keras
3's order of ``optimizer.variables``, so that a .keras file's optimizer state lines up.
"""
import warnings

import numpy as np

from fastnn import backend
from fastnn.variables import Variable

__all__ = ["OptimizerState"]


def _unwrap(var):
    """The parameter array of a Variable (or of a bare ndarray)."""
    return var.value if hasattr(var, "value") else var


class OptimizerState:
    """Slot creation and state access for Optimizer (see fastnn.optimizers.base)."""

    # Tuples of slot names. Within a tuple the slots are created per variable, interleaved;
    # tuples follow each other. This is Keras 3's order of optimizer.variables.
    _slot_groups = ()
    # Initial slot values: a number, or the name of the attribute that holds it.
    _slot_initial = {}

    # ---- variables -------------------------------------------------------------------------

    def _slot_names(self):
        return [n for group in self._slot_groups for n in group]

    def build(self, variables):
        """Create the slot arrays for these variables (once; later calls do nothing).

        Args:
            variables: The trainable Variables, in the order apply() receives gradients.
                Default required.
        """
        if self.built:
            return
        variables = list(variables)
        for i, v in enumerate(variables):
            a = _unwrap(v)
            if not isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64):
                raise TypeError(f"variables[{i}]: expected a float32 or float64 Variable, "
                                f"received {type(v).__name__}"
                                f"{' of dtype ' + str(a.dtype) if hasattr(a, 'dtype') else ''}")
            if not a.flags.c_contiguous or not a.flags.writeable:
                raise ValueError(f"variables[{i}]: expected a C-contiguous, writable array")
            if id(v) in self._index:
                raise ValueError(f"variables[{i}]: the variable {v!r} is listed twice")
            self._index[id(v)] = i
        self._trainable_variables = variables
        self._slots = [{} for _ in variables]
        names = self._slot_names()
        for i, v in enumerate(variables):
            a = _unwrap(v)
            base = str(getattr(v, "path", f"variable_{i}")).replace("/", "_")
            for n in names:
                if self._has_slot(n):
                    init = self._slot_initial.get(n, 0.0)
                    init = getattr(self, init) if isinstance(init, str) else init
                    self._slots[i][n] = Variable(np.full(a.shape, init, dtype=a.dtype),
                                                 trainable=False, name=f"{base}_{n}",
                                                 path=f"{self.name}/{base}_{n}")
        self._build_extra(variables)
        self.built = True

    def _has_slot(self, name):
        """Whether this configuration uses the slot (e.g. SGD's momentum only when > 0)."""
        return True

    def _build_extra(self, variables):
        pass

    def _extra_state(self):
        """Optimizer-wide state arrays after the slots (Nadam's momentum-cache product)."""
        return []

    def _set_extra_state(self, arrays):
        pass

    @property
    def variables(self):
        """The optimizer's state as Variables, in Keras 3's order.

        The iteration count and the float learning rate come first, as copies; the slot
        Variables that follow are the live arrays the updates write to.
        """
        out = [Variable(np.array(self._iterations, dtype=np.int64), dtype=np.int64,
                        trainable=False, name="iteration", path=f"{self.name}/iteration")]
        if isinstance(self._learning_rate, float):
            out.append(Variable(np.array(self._learning_rate, dtype=backend.floatx()),
                                trainable=False, name="learning_rate",
                                path=f"{self.name}/learning_rate"))
        for group in self._slot_groups:
            for slots in self._slots:
                out.extend(slots[n] for n in group if n in slots)
        for k, arr in enumerate(self._extra_state()):
            out.append(Variable(arr.copy(), trainable=False, name="variable",
                                path=f"{self.name}/variable_{k}"))
        return out

    def get_state(self):
        """The state needed to resume training exactly, as a list of array copies.

        Order: the iteration count (an int64 0-d array), then for each variable in build
        order its slots (in the order of the class's slot names), then optimizer-wide state
        (Nadam: the momentum-cache product).
        """
        out = [np.array(self._iterations, dtype=np.int64)]
        names = self._slot_names()
        for slots in self._slots:
            out.extend(slots[n].value.copy() for n in names if n in slots)
        out.extend(a.copy() for a in self._extra_state())
        return out

    def set_state(self, state):
        """Restore the state returned by get_state (the optimizer must be built).

        Args:
            state: The list of arrays. Default required.
        """
        state = list(state)
        if not self.built:
            raise ValueError("set_state: the optimizer is not built yet; call "
                             "optimizer.build(trainable_variables) first")
        names = self._slot_names()
        targets = [s[n].value for s in self._slots for n in names if n in s]
        extra = self._extra_state()
        expected = 1 + len(targets) + len(extra)
        if len(state) != expected:
            raise ValueError(f"state: expected a list of {expected} arrays (iterations, "
                             f"{len(targets)} slots, {len(extra)} more), received "
                             f"{len(state)}")
        it = np.asarray(state[0])
        if it.ndim != 0 or it.dtype.kind not in "iu":
            raise ValueError(f"state[0]: expected the iteration count as an integer scalar, "
                             f"received {it!r}")
        arrays = []
        for k, (t, s) in enumerate(zip(targets + extra, state[1:]), start=1):
            a = np.asarray(s)
            if a.shape != t.shape:
                raise ValueError(f"state[{k}]: expected shape {t.shape}, received {a.shape}")
            arrays.append(a)
        self._iterations = int(it)
        for t, a in zip(targets, arrays):
            np.copyto(t, a, casting="unsafe")
        self._set_extra_state(arrays[len(targets):])
        for s in self._slots:
            for var in s.values():
                var.touch()

    def save_own_variables(self, store):
        """Write the state into store as '0', '1', ... in Keras 3's order (see variables).

        Args:
            store: A dict-like. Default required.
        """
        for i, v in enumerate(self.variables):
            store[str(i)] = v.value.copy()

    def load_own_variables(self, store):
        """Read the state written by save_own_variables (or by Keras 3).

        Args:
            store: A dict-like with keys '0', '1', ... Default required.
        """
        variables = self.variables
        if len(store.keys()) != len(variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it "
                          f"has {len(variables)} variables whereas the saved optimizer has "
                          f"{len(store.keys())} variables.", stacklevel=2)
            return
        self._iterations = int(np.asarray(store["0"]))
        k = 1
        if isinstance(self._learning_rate, float):
            self._set_learning_rate(float(np.asarray(store["1"])))
            k = 2
        n_extra = len(self._extra_state())
        slot_vars = variables[k:len(variables) - n_extra]
        for j, v in enumerate(slot_vars):
            np.copyto(v.value, np.asarray(store[str(k + j)]), casting="unsafe")
            v.touch()
        if n_extra:
            self._set_extra_state([np.asarray(store[str(len(variables) - n_extra + j)])
                                   for j in range(n_extra)])
