from types import SimpleNamespace

from smplestx.engine.hooks import InferenceProgressHook


def test_counts_the_frames_of_every_clip():
    dataset = SimpleNamespace(unit_weights=lambda: [3, 2])
    runner = SimpleNamespace(test_loop=SimpleNamespace(dataloader=SimpleNamespace(
        dataset=dataset)))
    hook = InferenceProgressHook(interval_s=0.0)
    hook.before_test(runner)
    progress = hook._progress
    task = progress.tasks[0]
    assert task.total == 5 and len(progress.tasks) == 1  # one process: one bar
    for frames in ([1, 2], [], [3, 4, 5]):
        hook.after_test_iter(runner, 0, dict(frames=frames))
    assert task.completed == 5
    hook.after_test(runner)
    assert hook._progress is None
    quiet = InferenceProgressHook(enabled=False)
    quiet.before_test(runner)
    quiet.after_test_iter(runner, 0, dict(frames=[1]))
    assert quiet._progress is None
