"""Where the user's SMPL-X / SMPL files live, and clear errors when they do not.

One documented way to point at the folder: the ``body_model_dir`` config key (or
argument), else the ``SMPLESTX_BODY_MODELS`` environment variable. The folder holds
``smplx/SMPLX_{NEUTRAL,MALE,FEMALE}.npz`` plus the auxiliary files, exactly the layout
the official SMPLest-X ``human_model_files`` folder uses.
"""

import os
import os.path as osp
from typing import Iterable, Optional

BODY_MODELS_ENV = 'SMPLESTX_BODY_MODELS'
SMPLX_URL = 'https://smpl-x.is.tue.mpg.de'
SMPL_URL = 'https://smpl.is.tue.mpg.de'

#: Files the SMPLest-X model needs, relative to the body-model folder.
SMPLX_MODEL_FILES = ('smplx/SMPLX_NEUTRAL.npz', )
SMPLX_AUX_FILES = ('smplx/SMPLX_to_J14.pkl', 'smplx/MANO_SMPLX_vertex_ids.pkl',
                   'smplx/SMPL-X__FLAME_vertex_ids.npy')


class BodyModelFilesError(FileNotFoundError):
    """A body-model folder or file is missing; the message says where to get it."""


class BodyModelFormatError(ValueError):
    """A body-model file is there but unusable: a missing array, a wrong shape, NaNs."""


def resolve_body_model_dir(body_model_dir: Optional[str] = None) -> str:
    """Return the body-model folder from the argument or ``SMPLESTX_BODY_MODELS``.

    Args:
        body_model_dir: An explicit folder; wins over the environment variable.

    Returns:
        The absolute folder path (existence is checked).

    Raises:
        BodyModelFilesError: If neither is set or the folder does not exist.
    """
    path = body_model_dir or os.environ.get(BODY_MODELS_ENV)
    if not path:
        raise BodyModelFilesError(
            f'No SMPL-X body-model folder given: set `body_model_dir` in the config or '
            f'the {BODY_MODELS_ENV} environment variable to the folder holding '
            f'smplx/SMPLX_NEUTRAL.npz (download it from {SMPLX_URL}).')
    path = osp.abspath(osp.expanduser(path))
    if not osp.isdir(path):
        raise BodyModelFilesError(
            f'SMPL-X body-model folder {path} does not exist (download the models '
            f'from {SMPLX_URL}).')
    return path


def require_body_model_files(body_model_dir: str, relpaths: Iterable[str]) -> None:
    """Raise one clear error naming every missing file under ``body_model_dir``.

    Args:
        body_model_dir: The body-model folder.
        relpaths: File paths relative to that folder.

    Raises:
        BodyModelFilesError: If any file is missing.
    """
    missing = [p for p in relpaths if not osp.isfile(osp.join(body_model_dir, p))]
    if missing:
        where = SMPL_URL if all(p.startswith('smpl/') for p in missing) else SMPLX_URL
        raise BodyModelFilesError(
            f'Missing body-model file(s) in {body_model_dir}: {", ".join(missing)} '
            f'(obtain them from {where}; see docs/get_started.md).')
