"""bot/faults.py's switch: BOT_FAULTS names points and effects; a typo is refused rather than arming nothing, and
nothing is installed when it is unset. (The points themselves are exercised on real processes in
tests/refunds/test_client.py and tests/faults/test_stack_faults.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

from bot import faults


def test_points_and_effects_are_read_from_bot_faults() -> None:
    assert faults.parse("") == {}
    assert faults.parse("refunds.before_commit") == {"refunds.before_commit": "kill"}
    assert faults.parse(" refunds.after_commit , actions.validate_case_form=hang:2.5") == {
        "refunds.after_commit": "kill", "actions.validate_case_form": "hang:2.5"}


@pytest.mark.parametrize("spec", ["refunds.before_commit=stop", "actions.x=hang", "actions.x=hang:soon"])
def test_an_unknown_effect_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="unknown effect"):
        faults.parse(spec)


Base = declarative_base()


class Row(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "rows"
    id = Column(Integer, primary_key=True)


def _commit_a_row(sessions: sessionmaker) -> None:
    with sessions() as session:
        session.add(Row())
        session.commit()


@pytest.mark.parametrize("armed", [True, False], ids=["armed", "unset"])
def test_a_commit_point_fires_once_for_its_table_and_not_when_unset(
    armed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}", future=True)
    Base.metadata.create_all(engine)
    mark = tmp_path / "mark"
    monkeypatch.setenv("BOT_FAULTS_MARK", str(mark))
    monkeypatch.setattr(faults, "ARMED", faults.parse("rows.before_commit=hang:0,rows.after_commit=hang:0,"
                                                      "other.before_commit") if armed else {})
    monkeypatch.setattr(faults, "_fired", set())
    sessions = sessionmaker(bind=engine, future=True)
    faults.install_sql(sessions)
    _commit_a_row(sessions)
    _commit_a_row(sessions)  # once per process
    with sessions() as session:
        assert session.query(Row).count() == 2
    fired = [line.split()[0] for line in mark.read_text().splitlines()] if mark.exists() else []
    assert fired == (["rows.before_commit", "rows.after_commit"] if armed else [])
    engine.dispose()
