"""Every shell command of the README and the docs runs, so that none of them can rot.

Collected: every fenced ``bash``/``sh``/``shell`` block of README.md, docs/**/*.md,
demo/README.md, configs/**/README.md and projects/*/README.md.

* The block after README's ``<!-- setup-commands -->`` marker is what ``.ci/run`` runs
  (checked against ``.ci/run``'s own extraction); it is not run here.
* A block right after ``<!-- doc-test: install -->`` may hold install commands only (pip,
  mim, ``tools/install.sh``): they need the network and minutes, and ``.ci/run`` covers
  the install.
* Every other command runs in a scratch copy of the repository (``configs``, ``tools``,
  ``projects``, ``demo``, with the shared fixtures as ``../shared``), one subprocess per
  command, after the placeholder substitutions of :data:`SUBSTITUTIONS`. It must exit 0
  and (re)write the file its tool produces. A command that is identical to one already run
  (after substitution) is run once per session: the docs repeat the data set-up on purpose.
  Commands with the mmdet person detector run with random RTMDet-tiny weights where mmdet
  and full mmcv are installed (as ``.ci/run`` installs them) and are reported as skipped
  elsewhere, after the page's other commands ran.
* A server (:data:`SERVER_TOOLS`) is started on a free loopback port (its ``--port``
  replaced), must answer ``GET /`` with 200, and must exit 0 when interrupted (Ctrl-C).
"""

import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from smplestx.testing.tools import free_port, load_tool

REPO = Path(__file__).resolve().parents[2]
DOC_PATTERNS = ('README.md', 'docs/**/*.md', 'demo/README.md', 'configs/**/README.md',
                'projects/*/README.md')
#: Pages run first, in this order (a reader's path); the others follow alphabetically.
RUN_ORDER = ('README.md', 'docs/get_started.md', 'docs/dataset_preparation.md',
             'docs/train.md', 'docs/test.md', 'docs/demo.md')
SHELL_LANGS = frozenset({'bash', 'sh', 'shell'})
CI_MARKER = '<!-- setup-commands -->'
INSTALL_MARKER = '<!-- doc-test: install -->'
INSTALL_COMMAND = re.compile(
    r'^(?:[A-Z_]+=\S+\s+)*(?:pip3?|python3? -m pip|mim|bash tools/install\.sh)(?:\s|$)')
#: Tool runs and installs: they belong in a shell block, whatever block they are written in.
COMMAND_START = re.compile(r'^\s*(?:\$\s*)?(?:(?:\.venv/bin/)?python3?\s+(?:tools/|-m\s)'
                           r'|bash\s+tools/|(?:pip3?|mim)\s+install\s)')

TINY_CONFIG = 'configs/smplestx/smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
TINY_TEST_CONFIG = 'configs/smplestx/smplestx_vit-tiny_test-synthetic-256x192.py'
#: The data every training/testing page assumes; run once before the pages.
SYNTHETIC_DATA_COMMAND = ('python tools/dataset_converters/make_synthetic_humandata.py '
                          '--out-dir data/synthetic')
#: What the scratch copy of the repository holds (the package itself is installed).
COPIED = ('configs', 'tools', 'projects', 'demo', 'model-index.yml')
#: A user's box file (demo/README.md): one whole-body box for every frame of the 320x240
#: sample video.
USER_FILES = {'boxes.json': '[[40, 10, 280, 240]]\n'}
COMMAND_TIMEOUT_S = 300
#: Tools that serve until they are stopped (see :meth:`Workspace.serve`).
SERVER_TOOLS = ('tools/webui.py', )


@dataclasses.dataclass(frozen=True)
class Substitution:
    """One reviewed placeholder replacement applied to every command before it runs.

    Attributes:
        pattern: Regular expression searched in the command.
        replacement: ``re`` replacement; ``{snapshot}`` and ``{body_models}`` are the
            fixture paths.
        reason: Why the documented value cannot be used here.
        cfg_option: ``--cfg-options`` entry added to a command that matched.
    """

    pattern: str
    replacement: str
    reason: str
    cfg_option: Optional[str] = None


SUBSTITUTIONS: Tuple[Substitution, ...] = (
    Substitution(r'\.venv/bin/python\b', 'python',
                 'the repository venv; `python` runs the interpreter of this test session'),
    Substitution(r'/path/to/body_models', '{body_models}',
                 'the licensed SMPL-X files: the synthetic SMPL-X fixture'),
    Substitution(r'[\w./-]*smplest_x_h\.pth\.tar', '{snapshot}',
                 'the released SMPLest-X-H weights (8.2 GB): the tiny official-format '
                 'checkpoint of the fixtures'),
    Substitution(r'configs/smplestx/smplestx_vit-h_16xb16-5e_h40-256x192_finetune\.py',
                 TINY_CONFIG,
                 'the H fine-tuning config: the tiny config, starting from the tiny official '
                 'checkpoint as the fine-tuning config starts from the released one',
                 cfg_option='load_from={snapshot}'),
    Substitution(r'configs/smplestx/smplestx_vit-[sblh]_test-[\w.-]+\.py', TINY_TEST_CONFIG,
                 'benchmark test configs (real test sets): the tiny test config with the '
                 'evaluation preset of the synthetic set'),
    Substitution(r'configs/smplestx/smplestx_vit-[sblh]_[\w.-]+\.py', TINY_CONFIG,
                 'S/B/L/H configs (GPU-sized models, real data sets): the tiny config of '
                 'the same architecture on the synthetic set'),
    Substitution(r'smplestx_vit-h_3rdparty\.pth', 'smplestx_vit-tiny_3rdparty.pth',
                 'a converted tiny checkpoint must not pose as the H weights that the '
                 'demo picks up by default'),
    Substitution(r'(tools/dist_train\.sh\s+\S+\s+)\d+', r'\g<1>2',
                 'GPUs per node: 2 CPU processes (gloo)'),
    Substitution(r'(tools/dist_test\.sh\s+\S+\s+\S+\s+)\d+', r'\g<1>2',
                 'GPUs per node: 2 CPU processes (gloo)'),
    Substitution(r'(tools/dist_demo\.sh\s+)\d+', r'\g<1>2',
                 'GPUs per node: 2 CPU processes (gloo)'),
    Substitution(r'data/annot/\w+\.npz', 'data/synthetic/synthetic_humandata.npz',
                 'a real HumanData file: the synthetic set'),
    Substitution(r'data/img/\w+', 'data/synthetic', 'real images: those of the synthetic set'),
    Substitution(r'[\w./-]*rtmdet[\w.-]*\.pth', '{rtmdet}',
                 'RTMDet-tiny person-detector weights (a download): random weights made from '
                 "mmdet's bundled config (needs mmdet and full mmcv, else the command is "
                 'skipped)'),
    Substitution(r'--device\s+cuda\S*', '--device cpu', 'no GPU is assumed'),
    Substitution(r'\bmy_video\.mp4\b', 'demo/astronaut_pan.mp4',
                 "a user's video: the bundled sample video"),
)


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced shell block of a Markdown file."""

    path: str
    line: int
    marker: Optional[str]
    commands: Tuple[str, ...]

    @property
    def where(self) -> str:
        """``path:line`` of the opening fence."""
        return f'{self.path}:{self.line}'


def doc_files() -> List[str]:
    """The Markdown files whose commands are checked, relative to the repository."""
    found = set()
    for pattern in DOC_PATTERNS:
        found.update(p.relative_to(REPO).as_posix() for p in REPO.glob(pattern)
                     if p.is_file())
    first = [p for p in RUN_ORDER if p in found]
    return first + sorted(found - set(first))


def split_commands(lines: List[str]) -> Tuple[str, ...]:
    """Join ``\\``-continued lines; drop blank lines and comment lines."""
    commands, current = [], ''
    for raw in lines:
        line = raw.strip()
        if not current and (not line or line.startswith('#')):
            continue
        if line.endswith('\\'):
            current += line[:-1].rstrip() + ' '
            continue
        commands.append(current + line)
        current = ''
    if current:
        commands.append(current.strip())
    return tuple(commands)


def fenced_blocks(path: str) -> List[Tuple[int, str, Optional[str], List[str]]]:
    """Every fenced block of a file as ``(line, language, marker, lines)``.

    The marker is the HTML comment on the last non-blank line before the fence, if any.
    """
    lines = (REPO / path).read_text(encoding='utf-8').splitlines()
    blocks, i, previous = [], 0, ''
    while i < len(lines):
        opening = re.match(r'^\s*(`{3,}|~{3,})\s*([\w+-]*)', lines[i])
        if not opening:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, lang, start = opening.group(1), opening.group(2).lower(), i
        marker = previous if previous.startswith('<!--') else None
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        assert i < len(lines), f'{path}:{start + 1}: unclosed code fence'
        blocks.append((start + 1, lang, marker, body))
        previous = ''
        i += 1
    return blocks


def shell_blocks(path: str) -> List[Block]:
    """The shell blocks of a file."""
    return [Block(path, line, marker, split_commands(body))
            for line, lang, marker, body in fenced_blocks(path) if lang in SHELL_LANGS]


def runnable_blocks(path: str) -> List[Block]:
    """The shell blocks of a file that this test runs (neither CI nor install blocks)."""
    return [b for b in shell_blocks(path) if b.marker not in (CI_MARKER, INSTALL_MARKER)]


def substitute(command: str, paths: Dict[str, str]) -> str:
    """Apply :data:`SUBSTITUTIONS` to a documented command."""
    options = []
    for sub in SUBSTITUTIONS:
        replacement = sub.replacement.format(**paths)
        command, count = re.subn(sub.pattern, lambda m, r=replacement: m.expand(r), command)
        if count and sub.cfg_option:
            options.append(sub.cfg_option.format(**paths))
    if options:
        assert not re.search(r'[|;&<>]', command), f'cannot add --cfg-options to {command}'
        if '--cfg-options' in command:
            command = command.replace('--cfg-options', f'--cfg-options {" ".join(options)}', 1)
        else:
            command = f'{command} --cfg-options {" ".join(options)}'
    if (re.search(r'tools/(demo|webui)\.py', command) and paths['snapshot'] in command
            and '--config' not in command):
        # The demo's default config with a checkpoint is the H config: the tiny one here.
        assert not re.search(r'[|;&<>]', command), f'cannot add --config to {command}'
        command = f'{command} --config {TINY_CONFIG}'
    return command


# ----------------------------------------------------------------------------- outputs
_TOOLS: Dict[str, object] = {}


def _tool(relpath: str):
    """Import a tool script as a module (for its ``parse_args``)."""
    if relpath not in _TOOLS:
        _TOOLS[relpath] = load_tool(relpath)
    return _TOOLS[relpath]


def _work_dir(ns) -> str:
    return ns.work_dir or f'work_dirs/{Path(ns.config).stem}'


def _train_outputs(args: List[str]) -> List[str]:
    return [f'{_work_dir(_tool("tools/train.py").parse_args(args))}/last_checkpoint']


def _test_outputs(args: List[str]) -> List[str]:
    ns = _tool('tools/test.py').parse_args(args)
    return [f'{_work_dir(ns)}/results.json'] + ([ns.out] if ns.out else [])


def _demo_outputs(args: List[str]) -> List[str]:
    ns = _tool('tools/demo.py').parse_args(args)
    names = [Path(p).stem if Path(p).suffix else Path(os.path.abspath(p)).name
             for p in ns.inputs]
    shard, shards = ns.shard
    return [f'{ns.out_dir}/{name}/index.json' for i, name in enumerate(names)
            if i % shards == shard]


def _converter_outputs(args: List[str]) -> List[str]:
    return [_tool('tools/model_converters/smplestx_official_to_smplestx.py')
            .parse_args(args).dst]


def _synthetic_outputs(args: List[str]) -> List[str]:
    ns = _tool('tools/dataset_converters/make_synthetic_humandata.py').parse_args(args)
    return [f'{ns.out_dir}/{ns.name}.npz']


def _publish_outputs(args: List[str]) -> List[str]:
    ns = _tool('tools/misc/publish_model.py').parse_args(args)
    return [ns.out_file if ns.no_hash else re.sub(r'(\.pth)?$', r'-*\1', ns.out_file, count=1)]


def _standin_outputs(args: List[str]) -> List[str]:
    ns = _tool('tools/misc/make_standin_body_model.py').parse_args(args)
    return [f'{ns.out_dir}/smplx/SMPLX_NEUTRAL.npz']


def _onnx_outputs(args: List[str]) -> List[str]:
    return [_tool('tools/deployment/pytorch2onnx.py').parse_args(args).out]


def _animation_outputs(args: List[str]) -> List[str]:
    ns = _tool('tools/misc/export_animation.py').parse_args(args)
    ext = {'glb': '.glb', 'bvh': '.bvh', 'amass': '.npz'}

    def folder(track: str) -> str:
        return str(ns.out_dir or Path(track).parent.parent / 'animation')

    per_track = [f'{folder(t)}/{Path(t).stem}{ext[f]}' for t in ns.tracks for f in ns.format
                 if f in ext]
    scenes = [f'{folder(t)}/scene.glb' for t in ns.tracks] if 'scene' in ns.format else []
    return per_track + list(dict.fromkeys(scenes))


OUTPUT_RULES = {
    'tools/train.py': _train_outputs,
    'tools/test.py': _test_outputs,
    'tools/demo.py': _demo_outputs,
    'tools/model_converters/smplestx_official_to_smplestx.py': _converter_outputs,
    'tools/dataset_converters/make_synthetic_humandata.py': _synthetic_outputs,
    'tools/misc/publish_model.py': _publish_outputs,
    'tools/misc/make_standin_body_model.py': _standin_outputs,
    'tools/deployment/pytorch2onnx.py': _onnx_outputs,
    'tools/misc/export_animation.py': _animation_outputs,
}


def is_server(command: str) -> bool:
    """Whether ``command`` starts one of :data:`SERVER_TOOLS`."""
    argv = [] if re.search(r'[|;&<>$]', command) else shlex.split(command)
    return len(argv) > 1 and argv[0] == 'python' and argv[1] in SERVER_TOOLS


def with_port(command: str, port: int) -> str:
    """``command`` listening on ``port`` instead of its documented one."""
    without = re.sub(r'\s--port(?:\s+|=)\d+', '', command)
    return f'{without} --port {port}'


def expected_outputs(command: str) -> List[str]:
    """Glob patterns (relative to the working directory) that ``command`` must write."""
    if re.search(r'[|;&<>$]', command):
        return []
    argv = shlex.split(command)
    if len(argv) > 3 and argv[0] == 'bash' and argv[1] == 'tools/dist_train.sh':
        return _train_outputs([argv[2], *argv[4:]])
    if len(argv) > 4 and argv[0] == 'bash' and argv[1] == 'tools/dist_test.sh':
        return _test_outputs([argv[2], argv[3], *argv[5:]])
    if len(argv) > 3 and argv[0] == 'bash' and argv[1] == 'tools/dist_demo.sh':
        return _demo_outputs(argv[3:])
    if len(argv) > 1 and argv[0] == 'python' and argv[1] in OUTPUT_RULES:
        return OUTPUT_RULES[argv[1]](argv[2:])
    return []


# ----------------------------------------------------------------------------- running
class Workspace:
    """A scratch copy of the repository where documented commands run.

    Args:
        root: The copy (the current directory of every command).
        env: The environment of every command.
        paths: Fixture paths for :func:`substitute`.
    """

    def __init__(self, root: Path, env: Dict[str, str], paths: Dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.paths = paths
        self.done: Dict[str, str] = {}

    def detector_available(self) -> bool:
        """Make the random RTMDet-tiny checkpoint once; False without mmdet/full mmcv."""
        path = Path(self.paths['rtmdet'])
        if path.is_file():
            return True
        try:
            import mmcv.ops  # noqa: F401
            from mmdet.apis import init_detector
        except (ImportError, OSError):  # mmcv-lite, no mmdet, or ops built for another torch
            return False
        import torch
        from mmengine.registry import DefaultScope

        from smplestx.apis.detection import mmdet_config_path

        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = init_detector(mmdet_config_path(None), None, device='cpu')
        torch.save({'state_dict': model.state_dict(),
                    'meta': {'dataset_meta': dict(model.dataset_meta)}}, path)
        return True

    def run(self, command: str, origin: str) -> bool:
        """Run one substituted command unless it already ran; return whether it ran."""
        key = ' '.join(command.split())
        if key in self.done:
            return False
        exported = re.fullmatch(r'export\s+(\w+)=(\S+)', key)
        if exported:  # a user's shell keeps it for the following commands
            self.env[exported.group(1)] = exported.group(2)
            return True
        if is_server(command):
            self.serve(command, origin)
            self.done[key] = origin
            return True
        start = time.time()
        proc = subprocess.Popen(
            ['bash', '-o', 'pipefail', '-c', command], cwd=self.root,
            env=dict(self.env, PORT=str(free_port())), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            pytest.fail(f'{origin}: `{command}` ran over {COMMAND_TIMEOUT_S} s:\n'
                        f'{output[-3000:]}')
        assert proc.returncode == 0, (
            f'{origin}: `{command}` exited with {proc.returncode}:\n{output[-4000:]}')
        for pattern in expected_outputs(command):
            fresh = [p for p in self.root.glob(pattern)
                     if p.is_file() and p.stat().st_mtime >= start - 1]
            assert fresh, f'{origin}: `{command}` did not write {pattern}'
        self.done[key] = origin
        return True


    def serve(self, command: str, origin: str) -> None:
        """Start a server on a free port, wait for ``GET /`` to answer 200, interrupt it."""
        port = free_port()
        command = with_port(command, port)
        log = self.root / f'server_{port}.log'
        with log.open('w') as out:
            proc = subprocess.Popen(['bash', '-o', 'pipefail', '-c', command], cwd=self.root,
                                    env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline, status = time.time() + COMMAND_TIMEOUT_S, None
        try:
            while status != 200 and proc.poll() is None and time.time() < deadline:
                time.sleep(0.5)
                try:
                    with opener.open(f'http://127.0.0.1:{port}/', timeout=5) as answer:
                        status = answer.status
                except OSError:
                    continue
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
        output = log.read_text(errors='replace')[-4000:]
        assert status == 200, f'{origin}: `{command}` never answered on port {port}:\n{output}'
        assert code == 0, f'{origin}: `{command}` exited with {code} on Ctrl-C:\n{output}'


@pytest.fixture(scope='module')
def workspace(tmp_path_factory, body_model_path, official_tiny_path) -> Workspace:
    """The scratch repository with the synthetic data set already made."""
    base = tmp_path_factory.mktemp('doc_commands')
    root = base / 'smplestx'
    root.mkdir()
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        elif src.is_file():
            (root / name).write_bytes(src.read_bytes())
    (base / 'shared').symlink_to(official_tiny_path.parents[1], target_is_directory=True)
    for name, text in USER_FILES.items():
        (root / name).write_text(text)
    bin_dir = base / 'bin'
    bin_dir.mkdir()
    for name in ('python', 'python3'):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        shim.chmod(0o755)
    env = dict(os.environ)
    env.update(PATH=f'{bin_dir}{os.pathsep}{env.get("PATH", "")}',
               SMPLESTX_BODY_MODELS=str(body_model_path), CUDA_VISIBLE_DEVICES='',
               OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONDONTWRITEBYTECODE='1',
               MPLBACKEND='Agg')
    paths = dict(snapshot=str(official_tiny_path / 'snapshot_0.pth.tar'),
                 body_models=str(body_model_path), rtmdet=str(base / 'rtmdet_tiny_random.pth'))
    ws = Workspace(root, env, paths)
    ws.run(SYNTHETIC_DATA_COMMAND, 'the synthetic data set every page assumes')
    return ws


# ----------------------------------------------------------------------------- tests
DOCS = doc_files()
RUNNABLE = [p for p in DOCS if any(b.commands for b in runnable_blocks(p))]


def test_the_docs_are_found_and_hold_commands():
    for page in ('README.md', 'docs/index.md', 'docs/get_started.md',
                 'docs/dataset_preparation.md', 'docs/train.md', 'docs/test.md',
                 'docs/demo.md', 'docs/differences_from_official.md', 'docs/changelog.md',
                 'docs/architecture.md', 'docs/add_your_own_head.md',
                 'docs/inference_at_scale.md', 'docs/bad_inputs.md'):
        assert page in DOCS, f'{page} is missing'
    for page in ('README.md', 'docs/get_started.md', 'docs/dataset_preparation.md',
                 'docs/train.md', 'docs/test.md', 'docs/demo.md', 'docs/inference_at_scale.md'):
        assert page in RUNNABLE, f'{page} has no command that this test runs'
    commands = [c for p in RUNNABLE for b in runnable_blocks(p) for c in b.commands]
    assert len(commands) >= 20, commands
    assert SYNTHETIC_DATA_COMMAND in commands


def test_ci_block_is_exactly_what_ci_runs():
    ci_blocks = [b for p in DOCS for b in shell_blocks(p) if b.marker == CI_MARKER]
    assert [b.path for b in ci_blocks] == ['README.md'], [b.where for b in ci_blocks]
    extract = next(line for line in (REPO / '.ci/run').read_text().splitlines()
                   if line.startswith('mapfile') and CI_MARKER in line)
    script = f'{extract}\nprintf "%s\\n" "${{COMMANDS[@]}}"'
    result = subprocess.run(['bash', '-c', script], cwd=REPO, capture_output=True, text=True,
                            check=True)
    assert result.stdout.splitlines() == list(ci_blocks[0].commands)


def test_install_blocks_hold_install_commands_only():
    install_blocks = [b for p in DOCS for b in shell_blocks(p) if b.marker == INSTALL_MARKER]
    assert install_blocks, f'no block marked {INSTALL_MARKER}'
    for block in install_blocks:
        assert block.commands, f'{block.where}: empty install block'
        for command in block.commands:
            for part in re.split(r'&&|;', command.split(' #')[0]):
                assert INSTALL_COMMAND.match(part.strip()), (
                    f'{block.where}: `{part.strip()}` is not an install command; only '
                    'pip/mim/tools/install.sh may skip the doc test')


def test_markers_are_known():
    for path in DOCS:
        for line, lang, marker, _ in fenced_blocks(path):
            if marker and 'doc-test' in marker:
                assert marker == INSTALL_MARKER, f'{path}:{line}: unknown marker {marker}'
                assert lang in SHELL_LANGS, f'{path}:{line}: {marker} on a {lang} block'


def test_commands_are_only_written_in_shell_blocks():
    for path in DOCS:
        for line, lang, _, body in fenced_blocks(path):
            if lang in SHELL_LANGS:
                continue
            hidden = [text for text in body if COMMAND_START.match(text)]
            assert not hidden, (f'{path}:{line}: commands in a "{lang}" block escape the doc '
                                f'test; use ```bash: {hidden}')


def test_relative_links_resolve():
    broken = []
    for path in DOCS:
        text = re.sub(r'```.*?```', '', (REPO / path).read_text(encoding='utf-8'), flags=re.S)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+:|#', target):
                continue
            if not ((REPO / path).parent / target.split('#')[0]).exists():
                broken.append(f'{path}: {target}')
    assert not broken, f'broken links: {broken}'


def test_split_commands_joins_continuations_and_drops_comments():
    lines = ['# a comment', 'python a.py \\', '    --x 1  \\', '    --y', '', 'echo b  # note']
    assert split_commands(lines) == ('python a.py --x 1 --y', 'echo b  # note')


def test_substitution_examples():
    paths = dict(snapshot='/S/snap.pth.tar', body_models='/B', rtmdet='/R.pth')
    assert substitute('python tools/test.py configs/smplestx/smplestx_vit-h_16xb16-20e_'
                      'h40-256x192.py smplest_x_h.pth.tar', paths) == (
                          f'python tools/test.py {TINY_CONFIG} /S/snap.pth.tar')
    assert substitute('bash tools/dist_train.sh configs/smplestx/smplestx_vit-h_16xb16-5e_'
                      'h40-256x192_finetune.py 16', paths) == (
                          f'bash tools/dist_train.sh {TINY_CONFIG} 2 --cfg-options '
                          'load_from=/S/snap.pth.tar')
    assert substitute('python x.py --cfg-options load_from=pretrained_models/smplest_x_h/'
                      'smplest_x_h.pth.tar a=1', paths) == (
                          'python x.py --cfg-options load_from=/S/snap.pth.tar a=1')
    assert substitute('bash tools/dist_test.sh C K 8 --out p.pkl', paths) == (
        'bash tools/dist_test.sh C K 2 --out p.pkl')
    assert substitute('bash tools/dist_demo.sh 8 v.mp4 --whole-image', paths) == (
        'bash tools/dist_demo.sh 2 v.mp4 --whole-image')
    assert substitute('export SMPLESTX_BODY_MODELS=/path/to/body_models', paths) == (
        'export SMPLESTX_BODY_MODELS=/B')
    assert substitute(f'python tools/train.py {TINY_CONFIG}', paths) == (
        f'python tools/train.py {TINY_CONFIG}')
    assert substitute('python tools/demo.py v.mp4 --checkpoint smplest_x_h.pth.tar '
                      '--det-checkpoint rtmdet_tiny_8xb32-300e_coco.pth --device cuda', paths) == (
        'python tools/demo.py v.mp4 --checkpoint /S/snap.pth.tar --det-checkpoint /R.pth '
        f'--device cpu --config {TINY_CONFIG}')


def test_expected_outputs_follow_the_tools():
    assert expected_outputs(f'python tools/train.py {TINY_CONFIG}') == [
        'work_dirs/smplestx_vit-tiny_1xb2-1e_synthetic-256x192/last_checkpoint']
    assert expected_outputs('python tools/test.py a/b.py c.pth --out p.pkl --work-dir w') == [
        'w/results.json', 'p.pkl']
    assert expected_outputs('python tools/demo.py demo/astronaut.jpg demo/x.mp4') == [
        'outputs/demo/astronaut/index.json', 'outputs/demo/x/index.json']
    assert expected_outputs('bash tools/dist_train.sh c.py 2 --work-dir w') == [
        'w/last_checkpoint']
    assert expected_outputs('bash tools/dist_demo.sh 2 demo/a.mp4 demo --out-dir o') == [
        'o/a/index.json', 'o/demo/index.json']
    assert expected_outputs('python tools/demo.py a.jpg b.jpg c.jpg --shard 1/2') == [
        'outputs/demo/b/index.json']
    assert expected_outputs('python tools/misc/publish_model.py a.pth out/m.pth') == [
        'out/m-*.pth']
    assert expected_outputs('python tools/misc/export_animation.py v/tracks/*.npz --format glb '
                            'scene') == ['v/animation/*.glb', 'v/animation/scene.glb']


def test_servers_are_started_on_a_free_port():
    assert is_server('python tools/webui.py --port 7860')
    assert not is_server('python tools/demo.py demo/astronaut.jpg')
    assert not is_server('python tools/webui.py --help | head')
    assert with_port('python tools/webui.py --port 7860 --device cpu', 5) == (
        'python tools/webui.py --device cpu --port 5')
    assert with_port('python tools/webui.py', 5) == 'python tools/webui.py --port 5'


@pytest.mark.parametrize('path', RUNNABLE)
def test_doc_commands_run(path, workspace):
    count, need_detector = 0, []
    for block in runnable_blocks(path):
        for command in block.commands:
            mapped = substitute(command, workspace.paths)
            if workspace.paths['rtmdet'] in mapped and not workspace.detector_available():
                need_detector.append(f'{block.where}: {command}')
                continue
            workspace.run(mapped, block.where)
            count += 1
    assert count > 0
    if need_detector:
        pytest.skip(f'the other commands ran; these need mmdet and full mmcv (CI installs '
                    f'them): {need_detector}')
