"""Tool scripts as modules, and free loopback ports, for tests.

The scripts under ``tools/`` are not a package; tests load them from their files to call
their ``main``/``parse_args`` in-process.
"""

import importlib.util
import re
import socket
from pathlib import Path
from types import ModuleType
from typing import Optional, Union

from smplestx.testing.fixtures import REPO_ROOT


def load_tool(path: Union[str, Path], module_name: Optional[str] = None) -> ModuleType:
    """Execute a script and return it as a new module object.

    Every call executes the file again, so each caller gets its own copy (monkeypatching one
    copy leaves the others alone). The module is not added to ``sys.modules``.

    Args:
        path: The script, relative to the repository root (``'tools/demo.py'``) or absolute.
        module_name: The module's ``__name__``; by default one made from the path
            (``'tools/demo.py'`` gives ``'tools_demo'``).

    Returns:
        The executed module.

    Raises:
        FileNotFoundError: When the script does not exist.
    """
    script = Path(path)
    if not script.is_absolute():
        script = REPO_ROOT / script
    if not script.is_file():
        raise FileNotFoundError(f'{script}: no such tool script')
    if module_name is None:
        try:
            name = script.resolve().relative_to(REPO_ROOT).with_suffix('')
        except ValueError:
            name = Path(script.stem)
        module_name = re.sub(r'\W', '_', name.as_posix())
    spec = importlib.util.spec_from_file_location(module_name, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
