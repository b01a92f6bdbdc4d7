"""Plain NumPy references for softmax, the cross-entropy losses and the Philox generator.

Everything is computed in float64 from the kernel's (possibly float32) inputs. The loss
references follow Keras 3 with the TensorFlow backend; the gradients are written out by
hand, independently of the C code, and are themselves checked by central differences in
the tests.
"""
import numpy as np


def softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def softmax_backward(y, dy):
    y, dy = np.asarray(y, np.float64), np.asarray(dy, np.float64)
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def log_softmax_backward(y, dy):
    y, dy = np.asarray(y, np.float64), np.asarray(dy, np.float64)
    return dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)


def clip_bounds(eps, dtype):
    """The clip interval as the kernel of that dtype forms it: [eps, 1 - eps] in dtype."""
    e = np.asarray(eps, dtype)
    return float(e), float(np.asarray(1, dtype) - e)


def _weights(sw, n):
    return np.ones(n) if sw is None else np.asarray(sw, np.float64)


def sparse_xent(z, labels, sw, from_logits, eps, grad_scale, dtype):
    """(loss, grad) of tf.keras's sparse categorical cross-entropy."""
    z = np.asarray(z, np.float64)
    n, c = z.shape
    w = _weights(sw, n)
    onehot = np.zeros((n, c))
    onehot[np.arange(n), labels] = 1.0
    if from_logits:
        loss = -(onehot * log_softmax(z)).sum(axis=1)
        grad = softmax(z) - onehot
    else:
        lo, hi = clip_bounds(eps, dtype)
        q = np.clip(z, lo, hi)
        s = q.sum(axis=1, keepdims=True)
        loss = np.log(s[:, 0]) - np.log(q[np.arange(n), labels])
        active = (z >= lo) & (z <= hi)
        grad = active * (1.0 / s - onehot / q)
    return w * loss, grad_scale * w[:, None] * grad


def categorical_xent(z, t, sw, from_logits, ls, eps, grad_scale, dtype):
    """(loss, grad) of tf.keras's categorical cross-entropy with label smoothing."""
    z = np.asarray(z, np.float64)
    n, c = z.shape
    w = _weights(sw, n)
    t = np.asarray(t, np.float64) * (1.0 - ls) + ls / c
    if from_logits:
        loss = -(t * log_softmax(z)).sum(axis=1)
        grad = softmax(z) * t.sum(axis=1, keepdims=True) - t
    else:
        lo, hi = clip_bounds(eps, dtype)
        s = z.sum(axis=1, keepdims=True)
        r = z / s
        loss = -(t * np.log(np.clip(r, lo, hi))).sum(axis=1)
        active = (r >= lo) & (r <= hi)
        own = np.where(active, t / np.where(active, z, 1.0), 0.0)
        grad = (t * active).sum(axis=1, keepdims=True) / s - own
    return w * loss, grad_scale * w[:, None] * grad


def binary_xent(z, t, sw, from_logits, ls, eps, grad_scale, dtype):
    """(loss, grad) of tf.keras's binary cross-entropy, averaged over the last axis."""
    z = np.asarray(z, np.float64)
    n, c = z.shape
    w = _weights(sw, n)
    t = np.asarray(t, np.float64) * (1.0 - ls) + 0.5 * ls
    if from_logits:
        elem = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        e = np.exp(-np.abs(z))
        g = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)) - t
    else:
        lo, hi = clip_bounds(eps, dtype)
        q = np.clip(z, lo, hi)
        elem = -(t * np.log(q) + (1 - t) * np.log(1 - q))
        g = np.where((z >= lo) & (z <= hi), (q - t) / (q * (1 - q)), 0.0)
    return w * elem.mean(axis=1), grad_scale * w[:, None] * g / c


# ---- Philox-4x32-10, vectorised over many counters ----------------------------------------

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)


def philox(ctr, key):
    """Philox-4x32-10 of counters ctr (..., 4) under key (k0, k1): uint32 (..., 4)."""
    c = np.asarray(ctr, np.uint64).copy()
    k0, k1 = int(key[0]), int(key[1])
    for r in range(10):
        if r:
            k0 = (k0 + _W0) & 0xFFFFFFFF
            k1 = (k1 + _W1) & 0xFFFFFFFF
        p0 = _M0 * c[..., 0]
        p1 = _M1 * c[..., 2]
        c = np.stack([(p1 >> np.uint64(32)) ^ c[..., 1] ^ np.uint64(k0), p1 & _MASK,
                      (p0 >> np.uint64(32)) ^ c[..., 3] ^ np.uint64(k1), p0 & _MASK], axis=-1)
    return c.astype(np.uint32)


def blocks(seed, stream, nblocks):
    """The Philox blocks 0..nblocks-1 of stream (seed, stream), as documented in rng.h."""
    b = np.arange(nblocks, dtype=np.uint64)
    ctr = np.stack([b & _MASK, b >> np.uint64(32),
                    np.full_like(b, stream & 0xFFFFFFFF), np.full_like(b, stream >> 32)], axis=-1)
    return philox(ctr, (seed & 0xFFFFFFFF, seed >> 32))


def uniform_f32(seed, stream, n):
    w = blocks(seed, stream, (n + 3) // 4).reshape(-1)[:n]
    return ((w >> 8).astype(np.float64) * 2.0 ** -24).astype(np.float32)


def uniform_f64(seed, stream, n):
    w = blocks(seed, stream, (n + 1) // 2).reshape(-1, 2)[:n].astype(np.uint64)
    bits = ((w[:, 0] >> np.uint64(5)) << np.uint64(26)) | (w[:, 1] >> np.uint64(6))
    return bits.astype(np.float64) * 2.0 ** -53


def dropout_mask(seed, stream, n, rate):
    return (uniform_f32(seed, stream, n).astype(np.float64) >= rate).astype(np.uint8)
