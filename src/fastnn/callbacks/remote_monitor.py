"""RemoteMonitor: POST each epoch's logs to a server, with the standard library only."""
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from fastnn.callbacks.base import Callback

__all__ = ["RemoteMonitor"]


def _plain(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item() if value.size == 1 else value.tolist()
    return value


class RemoteMonitor(Callback):
    """Sends the epoch number and logs to ``root + path`` as an HTTP POST at each epoch end.

    The body is the JSON of ``{"epoch": epoch, **logs}``: sent as is with
    ``Content-Type: application/json`` when send_as_json is True, otherwise as the form
    field ``field`` (``data=<json>``, form-encoded), as Keras does. A server that cannot
    be reached, answers with an error status or is too slow gives a warning, never an
    exception: training goes on.

    Args:
        root: the server's root URL. Defaults to "http://localhost:9000".
        path: the path under root. Defaults to "/publish/epoch/end/".
        field: the form field holding the JSON (form mode only). Defaults to "data".
        headers: extra HTTP headers (a dict). Defaults to None.
        send_as_json: send the JSON itself as the body. Defaults to False.
        timeout: seconds to wait for the server (a fastnn addition: a hung server would
            otherwise hang training). Defaults to 10.
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/",
                 field="data", headers=None, send_as_json=False, timeout=10.0):
        super().__init__()
        for name, value in (("root", root), ("path", path), ("field", field)):
            if not isinstance(value, str):
                raise TypeError(f"{name}: expected a str, received {type(value).__name__}")
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(f"headers: expected a dict or None, received "
                            f"{type(headers).__name__}")
        if not isinstance(send_as_json, bool):
            raise TypeError(f"send_as_json: expected a bool, received {send_as_json!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout: expected a number of seconds > 0, received {timeout!r}")
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = float(timeout)

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        for k, v in (logs or {}).items():
            payload[k] = _plain(v)
        text = json.dumps(payload)
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = text.encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: text}).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        url = self.root + self.path
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as e:
            warnings.warn(f"RemoteMonitor: the server at {self.root} answered {e.code} "
                          f"{e.reason} to the POST to {url}", stacklevel=2)
        except (urllib.error.URLError, OSError, ValueError) as e:
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root} "
                          f"({getattr(e, 'reason', e)})", stacklevel=2)
