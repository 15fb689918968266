import pytest

from shop import tasks


class MailTasks(list):
    """The account mail tasks queued, [(task name, args), ...]; ``committed(call, ...)`` makes ``call`` and runs
    the on-commit callbacks it registered (the tasks run at once, in this process) -- what a request's commit
    and a worker do."""

    def __init__(self, capture):
        super().__init__()
        self._capture = capture

    def committed(self, call, *args, **kwargs):
        with self._capture(execute=True):
            return call(*args, **kwargs)


@pytest.fixture
def mail_tasks(monkeypatch, django_capture_on_commit_callbacks):
    queued = MailTasks(django_capture_on_commit_callbacks)
    for task in (tasks.send_password_reset, tasks.send_email_change_confirmation, tasks.send_email_changed_notice):
        def run(*args, task=task):
            queued.append((task.name.rsplit(".", 1)[-1], args))
            task(*args)
        monkeypatch.setattr(task, "delay", run)
    return queued
