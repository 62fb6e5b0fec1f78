"""The smplestx Runner: MMEngine's Runner with safe checkpoint loading."""

from typing import Callable, Union

from mmengine.runner import Runner

from smplestx.registry import RUNNERS
from smplestx.utils.checkpoint import mmengine_safe_globals


@RUNNERS.register_module()
class SMPLestXRunner(Runner):
    """MMEngine ``Runner`` whose checkpoint loading works on torch >= 2.6.

    ``load_checkpoint`` (used by ``load_from`` and ``resume``) runs under
    :func:`smplestx.utils.checkpoint.mmengine_safe_globals`, so MMEngine's own
    checkpoints load with ``weights_only=True`` and nothing else is unpickled.
    Select it with ``runner_type = 'SMPLestXRunner'`` (set in the default runtime).
    """

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:  # noqa: B006
        """Load a checkpoint with the safe-globals allowlist (see the class doc)."""
        with mmengine_safe_globals(filename):
            return super().load_checkpoint(
                filename, map_location=map_location, strict=strict,
                revise_keys=revise_keys)
