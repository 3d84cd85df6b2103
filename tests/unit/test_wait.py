import pytest

from lab.errors import WaitTimeout
from lab.wait import poll


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_returns_the_first_truthy_value():
    values = iter([None, False, "ready"])
    clock = FakeClock()
    assert poll(lambda: next(values), what="x", timeout=10, clock=clock, sleep=clock.sleep) == (
        "ready"
    )
    assert clock.now == pytest.approx(4.0)


def test_timeout_names_what_and_the_last_error():
    clock = FakeClock()

    def check():
        raise ConnectionError("connection refused on :3000")

    with pytest.raises(WaitTimeout) as err:
        poll(
            check, what="Gitea /api/healthz", timeout=5, interval=1, clock=clock, sleep=clock.sleep
        )
    text = str(err.value)
    assert "Gitea /api/healthz" in text
    assert "connection refused on :3000" in text
    assert "5s" in text
    assert err.value.exit_code == 5


def test_progress_is_reported_on_long_waits():
    clock = FakeClock()
    notes = []
    with pytest.raises(WaitTimeout):
        poll(
            lambda: None,
            what="Jenkins",
            timeout=60,
            interval=5,
            progress=notes.append,
            progress_every=15,
            clock=clock,
            sleep=clock.sleep,
        )
    assert 3 <= len(notes) <= 4
    assert all("Jenkins" in n for n in notes)


def test_never_sleeps_past_the_deadline():
    clock = FakeClock()
    with pytest.raises(WaitTimeout):
        poll(lambda: None, what="x", timeout=3, interval=10, clock=clock, sleep=clock.sleep)
    assert clock.now == pytest.approx(3.0)
