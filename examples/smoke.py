"""A small end-to-end check of fastnn's kernels: train a 784-128-10 MLP on MNIST.

Uses only fastnn.ops (fused dense forward and backward, dropout, fused softmax
cross-entropy); the parameter update is plain SGD. Run: python examples/smoke.py
MNIST is read from $FASTNN_DATA_DIR/mnist.npz when present, else downloaded once.
"""
import os
import time
import urllib.request

import numpy as np

import fastnn
from fastnn import ops

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def load_mnist():
    """Return (x_train, y_train), (x_test, y_test) from the Keras mnist.npz."""
    data_dir = os.environ.get("FASTNN_DATA_DIR") or os.path.expanduser("~/.fastnn/datasets")
    path = os.path.join(data_dir, "mnist.npz")
    if not os.path.exists(path):
        os.makedirs(data_dir, exist_ok=True)
        print(f"downloading {MNIST_URL}")
        urllib.request.urlretrieve(MNIST_URL, path + ".part")
        os.replace(path + ".part", path)
    with np.load(path) as d:
        return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])


def main(epochs=1, batch_size=32, lr=0.1, seed=0):
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = x_train.reshape(-1, 784).astype(np.float32) / 255
    x_test = x_test.reshape(-1, 784).astype(np.float32) / 255
    y_train = y_train.astype(np.int64)
    rng = np.random.default_rng(seed)
    # Glorot-uniform kernels, zero biases (the Keras defaults)
    w1 = rng.uniform(-1, 1, (784, 128)).astype(np.float32) * np.sqrt(6 / (784 + 128))
    w2 = rng.uniform(-1, 1, (128, 10)).astype(np.float32) * np.sqrt(6 / (128 + 10))
    b1 = np.zeros(128, np.float32)
    b2 = np.zeros(10, np.float32)
    fastnn.show_config()
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        start, total = time.perf_counter(), 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            x, y = x_train[idx], y_train[idx]
            h = ops.dense(x, w1, b1, "relu")
            hd, mask = ops.dropout(h, 0.2, seed=seed, step=step, return_mask=True)
            logits = ops.dense(hd, w2, b2)
            loss, dlogits = ops.sparse_categorical_crossentropy_with_grad(
                y, logits, from_logits=True, grad_scale=1.0 / len(idx))
            dhd, dw2, db2 = ops.dense_backward(hd, w2, dlogits)
            dh = ops.dropout_backward(dhd, mask, 0.2)
            _, dw1, db1 = ops.dense_backward(x, w1, dh, "relu", y=h, compute_dx=False)
            for p, g in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2)):
                p -= lr * g
            total += float(loss.sum())
            step += 1
        seconds = time.perf_counter() - start
        pred = ops.dense(ops.dense(x_test, w1, b1, "relu"), w2, b2).argmax(axis=1)
        acc = float((pred == y_test).mean())
        print(f"epoch {epoch + 1}: {seconds:.2f} s, loss {total / len(order):.4f}, "
              f"test accuracy {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
