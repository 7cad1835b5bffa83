"""The promise reminder's time (the eve of the promise date, 18:00 tenant time) and the troubleshooting words the
rules brain reads (a restart, a slow connection, steps already tried, whether they helped)."""

from datetime import UTC, date, datetime

import pytest

from api.brain.nlu import troubleshooting
from api.engine.follow_up_schedule import reminder_time


def test_the_reminder_is_due_at_18_on_the_eve_in_the_tenants_time_zone():
    assert reminder_time(date(2026, 12, 10), "America/Sao_Paulo") == datetime(2026, 12, 9, 21, tzinfo=UTC)
    assert reminder_time(date(2026, 12, 10), "America/Manaus") == datetime(2026, 12, 9, 22, tzinfo=UTC)


@pytest.mark.parametrize("text", ["já reiniciei o roteador", "reiniciei", "desliguei e liguei de novo",
                                  "Ja reiniciei e nada"])
def test_a_restart(text):
    assert troubleshooting.restarted(text)


@pytest.mark.parametrize("text", ["minha internet ta muito lenta", "ta devagar", "travando demais",
                                  "a net fica caindo toda hora"])
def test_slow(text):
    assert troubleshooting.slow(text)


def test_not_slow():
    assert not troubleshooting.slow("estou sem internet") and not troubleshooting.restarted("quero a segunda via")


@pytest.mark.parametrize("text", ["já reiniciei", "já fiz tudo isso", "ja testei"])
def test_already_tried(text):
    assert troubleshooting.already_tried(text)


def test_better_or_not():
    assert troubleshooting.not_better("não melhorou") and not troubleshooting.better("não melhorou")
    assert troubleshooting.not_better("continua lenta") and troubleshooting.not_better("melhorou não")
    assert troubleshooting.better("melhorou, obrigado") and troubleshooting.wants_ticket("pode abrir sim")
