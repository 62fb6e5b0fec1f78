"""Install smplestx.

mmcv is not an install requirement on purpose: pick ``.[lite]`` (mmcv-lite, no
compiled ops, installs in seconds) or build full mmcv for the person detector, see
``docs/get_started.md`` and ``tools/install.sh``.
"""

import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """Read a requirements file, dropping comments and blank lines."""
    path = osp.join(HERE, 'requirements', name)
    with open(path, encoding='utf-8') as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def read_version() -> str:
    """Read ``__version__`` without importing the package."""
    scope: dict = {}
    with open(osp.join(HERE, 'smplestx', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


setup(
    name='smplestx',
    version=read_version(),
    description='MMEngine toolkit for expressive whole-body human pose and shape '
    'estimation with SMPL-X (SMPLest-X re-implementation)',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0 (code); see README for model and weight licences',
    packages=find_packages(include=['smplestx', 'smplestx.*']),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'lite': ['mmcv-lite>=2.0.0,<2.2.0'],
        'detector': ['mmdet>=3.3.0,<3.4.0'],
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
        'deploy': read_requirements('deploy.txt'),
        'web': read_requirements('web.txt'),
    },
    include_package_data=True,
    zip_safe=False,
)
