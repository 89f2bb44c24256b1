"""Which in-plant vehicles and machines a plant must replace to reach a performance grade.

The 2020 grading guide (see the domain notes, "Grade rules for transport") asks of the
plant's own fleet only at grade A: every in-plant vehicle China V+ (gas included) or new
energy, every non-road machine China III+ or new energy. Grades B and C are set by the
share of road haulage alone (`transport.transport_grade`), so they make no vehicle or
machine due for replacement. The ERP turns the same sets into search domains, so the list
behind the "Due for Replacement" filter and this function always agree.
"""
from .codes import CLEAN_STAGES, NEW_ENERGY_FUELS
from .errors import Hj1321Error

GRADES = ('A', 'B', 'C')
KINDS = ('in_plant', 'machinery')
# Non-road machinery: China III and above, or electric (as transport_grade's A.machinery).
MACHINERY_STAGES = frozenset(['3', '4', '5', '6', 'D'])
# grade -> kind -> emission stages that are good enough; a kind absent is not checked.
_RULES = {
    'A': {'in_plant': CLEAN_STAGES, 'machinery': MACHINERY_STAGES},
    'B': {},
    'C': {},
}


def _check(grade, kind):
    if grade not in _RULES:
        raise Hj1321Error('grades.grade', '绩效等级须为 A、B 或 C，收到 %r' % (grade,),
                          'the performance grade must be A, B or C, got %r' % (grade,),
                          value=grade)
    if kind not in KINDS:
        raise Hj1321Error('grades.kind', '类别须为 in_plant 或 machinery，收到 %r' % (kind,),
                          'the kind must be in_plant or machinery, got %r' % (kind,),
                          value=kind)


def accepted_stages(grade, kind):
    """The emission stages `grade` accepts for `kind` ('in_plant' or 'machinery'), or None
    when the grade sets no rule for that kind. New-energy fuels (NEW_ENERGY_FUELS) are
    always accepted whatever the stage."""
    _check(grade, kind)
    return _RULES[grade].get(kind)


def replacement_due(grade, kind, stage, fuel=None):
    """True when a vehicle or machine of `kind` with this emission stage and fuel keeps the
    plant from `grade`: its stage is not accepted (an unknown stage never is) and it is not
    new energy. Raises Hj1321Error for an unknown grade or kind."""
    stages = accepted_stages(grade, kind)
    if stages is None:
        return False
    return stage not in stages and fuel not in NEW_ENERGY_FUELS
