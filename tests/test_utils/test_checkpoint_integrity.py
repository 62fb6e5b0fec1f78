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


def _flip_member(path, member_suffix):
    """Invert 64 bytes in the data of the archive member whose name ends with the suffix."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = next(m for m in archive.infolist() if m.filename.endswith(member_suffix))
    with open(path, 'r+b') as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = (int.from_bytes(f.read(2), 'little') for _ in range(2))
        start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
        f.seek(start)
        block = f.read(64)
        f.seek(start)
        f.write(bytes(b ^ 0xFF for b in block))


@pytest.fixture()
def training_checkpoint(tmp_path):
    """Weights (storage 0) and one Adam moment (storage 1), as in the released file."""
    path = tmp_path / 'snapshot.pth.tar'
    weight = torch.arange(20_000, dtype=torch.float32)
    torch.save({'epoch': 3, 'network': {'module.encoder.w': weight},
                'optimizer': {'state': {0: {'exp_avg': torch.ones(20_000)}},
                              'param_groups': [{'lr': 1e-5, 'params': [0]}]}}, path)
    return path


def test_weight_members_are_the_pickle_and_the_weight_storages(training_checkpoint):
    from smplestx.utils.checkpoint_members import weight_members

    members = weight_members(str(training_checkpoint))
    storages = sorted(m.split('/', 1)[1] for m in members if '/data/' in m)
    assert storages == ['data/0']
    assert any(m.endswith('/data.pkl') for m in members)


def test_weights_only_check_skips_the_optimizer_state(training_checkpoint):
    _flip_member(training_checkpoint, '/data/1')  # the Adam moment
    assert verify_checkpoint_file(training_checkpoint, weights=True) is True
    with pytest.raises(CorruptCheckpointError, match=r'member \S+/data/1 fails its CRC-32'):
        verify_checkpoint_file(training_checkpoint)  # a resume reads it: the full check


def test_weights_only_check_catches_damaged_weights(training_checkpoint):
    _flip_member(training_checkpoint, '/data/0')
    with pytest.raises(CorruptCheckpointError, match=r'member \S+/data/0 fails its CRC-32'):
        verify_checkpoint_file(training_checkpoint, weights=True)


def test_member_scan_executes_nothing_from_the_file(tmp_path):
    """A pickle that would call os.system is only scanned, never run."""
    import pickle
    import zipfile

    from smplestx.utils.checkpoint_members import weight_members

    class Evil:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "pwned"}', ))

    path = tmp_path / 'evil.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('evil/data.pkl', pickle.dumps({'state_dict': {'w': Evil()}}))
        archive.writestr('evil/data/0', b'\0' * 8)
    assert weight_members(str(path)) == {'evil/data.pkl'}
    assert not (tmp_path / 'pwned').exists()
