"""CRC verification of zip-format torch checkpoints before loading."""

import os

import pytest
import torch

from smplestx.testing.damage import damaged_copy
from smplestx.utils import checkpoint_integrity
from smplestx.utils.checkpoint_integrity import CorruptCheckpointError, verify_checkpoint_file


@pytest.fixture()
def checkpoint(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.arange(50_000, dtype=torch.float32)}}, path)
    return path


def test_whole_checkpoint_passes_and_is_remembered(checkpoint, monkeypatch):
    assert verify_checkpoint_file(checkpoint) is True
    # A second check of the same unchanged file reads nothing.
    monkeypatch.setattr(checkpoint_integrity.zipfile.ZipFile, 'testzip',
                        lambda self: pytest.fail('re-verified'))
    assert verify_checkpoint_file(str(checkpoint)) is True


def test_flipped_bytes_fail_the_crc_with_file_and_member(checkpoint, tmp_path):
    bad = damaged_copy(checkpoint, tmp_path / 'bad.pth')
    with pytest.raises(CorruptCheckpointError,
                       match=rf'{bad} is damaged: member \S+/data/0 fails its CRC-32'):
        verify_checkpoint_file(bad)


def test_truncated_checkpoint_is_incomplete(checkpoint, tmp_path):
    cut = damaged_copy(checkpoint, tmp_path / 'cut.pth', flip=0, keep=0.5)
    with pytest.raises(CorruptCheckpointError, match=rf'{cut} is incomplete: a zip archive'):
        verify_checkpoint_file(cut)


def test_a_file_changed_after_its_check_is_checked_again(checkpoint, tmp_path):
    copy = damaged_copy(checkpoint, tmp_path / 'copy.pth', flip=0)
    assert verify_checkpoint_file(copy)
    damaged_copy(checkpoint, tmp_path / 'bad.pth')
    os.replace(tmp_path / 'bad.pth', copy)  # same path, new file
    with pytest.raises(CorruptCheckpointError, match='fails its CRC-32'):
        verify_checkpoint_file(copy)


def test_legacy_format_has_nothing_to_check(tmp_path):
    path = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(3)}, path, _use_new_zipfile_serialization=False)
    assert verify_checkpoint_file(path) is False
