"""Loading tool scripts as modules, and free loopback ports."""

import socket

import pytest

from smplestx.testing.fixtures import REPO_ROOT
from smplestx.testing.tools import free_port, load_tool


def test_loads_a_tool_script_relative_to_the_repo():
    tool = load_tool('tools/misc/publish_model.py')
    assert callable(tool.main) and callable(tool.parse_args)
    assert tool.__name__ == 'tools_misc_publish_model'
    assert tool.__file__ == str(REPO_ROOT / 'tools' / 'misc' / 'publish_model.py')
    args = tool.parse_args(['in.pth', 'out.pth', '--no-hash'])
    assert (args.in_file, args.out_file, args.no_hash) == ('in.pth', 'out.pth', True)


def test_each_load_is_a_separate_module():
    first = load_tool(REPO_ROOT / 'tools' / 'misc' / 'publish_model.py', module_name='first')
    second = load_tool('tools/misc/publish_model.py')
    assert first is not second and first.__name__ == 'first'
    first.main = None  # patching one copy leaves the other alone
    assert callable(second.main)


def test_missing_script_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'tools/no_such_tool\.py: no such tool script'):
        load_tool('tools/no_such_tool.py')
    with pytest.raises(FileNotFoundError, match='no such tool script'):
        load_tool(tmp_path)  # a folder is not a script


def test_free_port_is_bindable_on_loopback():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', port))
        sock.listen()
        assert sock.getsockname() == ('127.0.0.1', port)
