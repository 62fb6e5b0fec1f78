"""Choose the checkpoint ``--resume`` continues from: the newest whole one in the work dir.

MMEngine resumes from whatever ``<work_dir>/last_checkpoint`` names and, without that
file, silently starts from scratch. Here the named file is checked first (it exists, is a
torch checkpoint, every zip member passes its CRC); when it is missing or damaged, the
newest whole ``epoch_N.pth``/``iter_N.pth`` of the work dir is used instead, with a
warning naming the bad file.
"""

import logging
import os
import os.path as osp
import re
from typing import List, Optional, Union

from smplestx.models.utils.checkpoint_conversion import CHECKPOINT_ERRORS, check_torch_file

#: Checkpoint names of MMEngine's ``CheckpointHook`` (``filename_tmpl`` defaults).
_CHECKPOINT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
LAST_CHECKPOINT = 'last_checkpoint'

Logger = Union[logging.Logger, logging.LoggerAdapter]


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from (missing, not a checkpoint, damaged), or None."""
    try:
        check_torch_file(path)
    except CHECKPOINT_ERRORS as err:
        return str(err)
    return None


def _numbered_checkpoints(work_dir: str) -> List[str]:
    """``epoch_N.pth``/``iter_N.pth`` in ``work_dir``, highest N (then newest) first."""
    found = []
    for name in os.listdir(work_dir):
        match = _CHECKPOINT_NAME.match(name)
        path = osp.join(work_dir, name)
        if match and osp.isfile(path):
            found.append((int(match.group(1)), os.stat(path).st_mtime_ns, path))
    return [path for *_, path in sorted(found, reverse=True)]


def find_resume_checkpoint(work_dir: str, logger: Logger) -> Optional[str]:
    """The checkpoint to resume from in ``work_dir``, or None when there is none.

    Args:
        work_dir: The run's work dir.
        logger: Where the warnings about skipped files go.

    Returns:
        The file ``last_checkpoint`` names when it is whole, else the newest whole
        numbered checkpoint, else None.
    """
    if not osp.isdir(work_dir):
        return None
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    named = None
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            named = f.read().strip() or None
        problem = checkpoint_problem(named) if named else None
        if named and problem is None:
            return named
        reason = f'cannot resume from {named}: {problem}' if named else f'{pointer} is empty'
        logger.warning(f'{reason}; falling back to the newest whole checkpoint in {work_dir}')
    for path in _numbered_checkpoints(work_dir):
        if named and osp.realpath(path) == osp.realpath(named):
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            logger.warning(f'resuming from {path}' + ('' if named else
                                                      f' (no {LAST_CHECKPOINT} file)'))
            return path
        logger.warning(f'skipping {path}: {problem}')
    return None
