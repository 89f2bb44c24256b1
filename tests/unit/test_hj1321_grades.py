"""hj1321.grades: which in-plant vehicles and machines keep a plant from its target grade."""
import pytest

from hj1321 import codes, grades, transport
from hj1321.errors import Hj1321Error

STAGES = [c.code for c in codes.table('emission_stage')]
FUELS = [None] + [c.code for c in codes.table('fuel_type')]


def test_grade_a_in_plant_vehicles_need_china_v_plus_or_new_energy():
    due = [s for s in STAGES if grades.replacement_due('A', 'in_plant', s, 'B')]
    assert due == ['0', '1', '2', '3', '4', 'X']
    assert grades.replacement_due('A', 'in_plant', None, None)
    assert not grades.replacement_due('A', 'in_plant', '4', 'C')      # electric
    assert not grades.replacement_due('A', 'in_plant', 'X', 'P')      # hydrogen
    assert grades.replacement_due('A', 'in_plant', '4', 'O')          # hybrid: by its stage
    assert not grades.replacement_due('A', 'in_plant', '5', 'E')      # gas V counts


def test_grade_a_machinery_needs_china_iii_plus_or_new_energy():
    due = [s for s in STAGES if grades.replacement_due('A', 'machinery', s, 'B')]
    assert due == ['0', '1', '2', 'X']
    assert not grades.replacement_due('A', 'machinery', '2', 'C')


@pytest.mark.parametrize('grade', ['B', 'C'])
def test_grades_b_and_c_set_no_fleet_rule(grade):
    assert grades.accepted_stages(grade, 'in_plant') is None
    assert not any(grades.replacement_due(grade, kind, stage, fuel)
                   for kind in grades.KINDS for stage in STAGES + [None] for fuel in FUELS)


def test_agrees_with_transport_grade_a_fleet_checks():
    """A vehicle or machine is due exactly when transport_grade's A check fails on it."""
    for stage in STAGES:
        for fuel in ('B', 'C', 'O'):
            key = 'D' if fuel in codes.NEW_ENERGY_FUELS else stage
            result = transport.transport_grade({'6': 1}, in_plant_by_stage={key: 1},
                                               machinery_by_stage={key: 1})
            assert grades.replacement_due('A', 'in_plant', stage, fuel) == \
                (not result.check('A.in_plant').passed), (stage, fuel)
            assert grades.replacement_due('A', 'machinery', stage, fuel) == \
                (not result.check('A.machinery').passed), (stage, fuel)


def test_bad_grade_or_kind():
    with pytest.raises(Hj1321Error) as info:
        grades.replacement_due('D', 'in_plant', '6')
    assert info.value.code == 'grades.grade'
    with pytest.raises(Hj1321Error) as info:
        grades.accepted_stages('A', 'transport')
    assert info.value.code == 'grades.kind'
