"""Clean-transport figures and the transport grade of the performance-grading rules.

The ERP aggregates weighings, gate passages and non-road volumes with SQL and hands the
rows in; this module only does the arithmetic and applies the rules, so the gate box, the
ERP report and the tests agree on every number.

Two sets of rules are implemented (see the domain notes, "Grade rules for transport"):

* `transport_grade`: the 2020 performance-grading guide. A: all road haulage by China V+
  (gas included) or new-energy trucks, all in-plant vehicles V+ or new energy, all non-road
  machinery China III+ or new energy. B: V+/new-energy share of road haulage >= 80 % and the
  rest at least China IV. C: V+/new-energy share >= 50 %.
* `ultra_low_check`: the 2024 ultra-low-emission target. Clean transport (rail, waterway,
  belt conveyor, pipeline, new-energy trucks) >= 80 % of bulk tonnage, or else road
  haulage entirely China VI or new energy.

Every share is an exact `fractions.Fraction` (tonnages given as floats are read through
their decimal text, so 0.1 t is exactly 1/10 t) and thresholds are compared on those
fractions: 8 trips of 10 are exactly 80 % and reach grade B. Floats are only exposed for
display and storage. Percentages in messages are cut, never rounded up, so 49.996 % shows
as 49.99 % and never looks like a pass.
"""
import collections
import decimal
from fractions import Fraction

from . import codes
from .errors import Hj1321Error

MODES = ('road', 'rail', 'waterway', 'belt', 'pipeline')
MODE_LABELS = collections.OrderedDict([
    ('road', ('公路', 'Road')),
    ('rail', ('铁路', 'Rail')),
    ('waterway', ('水路', 'Waterway')),
    ('belt', ('皮带通廊', 'Belt conveyor')),
    ('pipeline', ('管道', 'Pipeline')),
])
DIRECTIONS = ('in', 'out')
CLEAN_MODES = ('rail', 'waterway', 'belt', 'pipeline')
CLEAN_TRUCKS = ('new_energy', 'v_plus')
BASES = ('trips', 'tonnage')

UNKNOWN = 'unknown'         # key of road rows without a known stage / fuel in the figures
# Road stages of grade B's "the rest at least China IV".
_AT_LEAST_IV = frozenset(['4', '5', '6', 'D'])
# Non-road machinery: China III and above, or electric.
_MACHINERY_OK = frozenset(['3', '4', '5', '6', 'D'])
# 2024 fallback: road haulage entirely China VI or new energy.
_VI_OR_NE = frozenset(['6', 'D'])
_UNKNOWN_STAGES = (None, 'X', UNKNOWN)

_B_SHARE = Fraction(4, 5)
_C_SHARE = Fraction(1, 2)

Row = collections.namedtuple('Row', 'mode cargo direction tonnage trips stage fuel')
Row.__doc__ = """One aggregated row of transported tonnage.

mode: one of MODES; cargo: any hashable key (the ERP passes cargo ids) or None;
direction: 'in' or 'out' (or None); tonnage: t, >= 0; trips: truck trips of a road row
(0 for other modes); stage / fuel: the trucks' HJ 1321 emission stage and fuel codes on a
road row (None when unknown), None on other modes."""

Check = collections.namedtuple('Check', 'rule passed value threshold message_zh message_en')
Check.__doc__ = """One condition of a rule: what was measured (value), what the rule needs
(threshold), whether it held, and a sentence in both languages with the numbers."""

_FIGURE_FIELDS = (
    'total_tonnage', 'tonnage_by_mode', 'road_tonnage_by_stage', 'road_tonnage_by_fuel',
    'road_trips_by_stage', 'clean_tonnage', 'clean_share', 'road_trips', 'v_plus_trips',
    'v_plus_trip_share', 'road_tonnage', 'v_plus_tonnage', 'v_plus_tonnage_share',
    'unknown_stage_trips', 'unknown_stage_tonnage', 'below_vi_trips', 'below_vi_tonnage',
    'clean_fraction', 'v_plus_trip_fraction', 'v_plus_tonnage_fraction', 'clean_trucks',
    'by_cargo_direction')


class Figures(collections.namedtuple('Figures', _FIGURE_FIELDS)):
    """The figures of a set of rows (see `summarize`).

    Tonnages are floats in t, counts are ints, shares are floats in 0..1 or None when
    the base is 0. The exact shares are kept as Fractions in `clean_fraction`,
    `v_plus_trip_fraction` and `v_plus_tonnage_fraction`; compare those with thresholds.
    """
    __slots__ = ()

    def as_dict(self):
        """A plain dict; sub-figures of `by_cargo_direction` become dicts too."""
        result = {}
        for name in self._fields:
            value = getattr(self, name)
            if isinstance(value, dict):
                value = {k: (v.as_dict() if isinstance(v, Figures) else v)
                         for k, v in value.items()}
            result[name] = value
        return result


class GradeResult(collections.namedtuple('GradeResult', 'grade share checks basis')):
    """grade: 'A', 'B', 'C' or '-' (below C); share: the V+/new-energy share of road
    haulage as a float (None when nothing was hauled); checks: the `Check`s behind the
    grade, in the order A, B, C; basis: 'trips' or 'tonnage'."""
    __slots__ = ()

    def check(self, rule):
        """The check named `rule`, or None."""
        for item in self.checks:
            if item.rule == rule:
                return item
        return None


# -- helpers --------------------------------------------------------------------------

def mode_label(mode, lang='en_US'):
    """The label of a transport mode in `lang` (Chinese for any 'zh*' language)."""
    entry = MODE_LABELS.get(mode)
    if entry is None:
        return '' if mode is None else str(mode)
    return entry[0] if (lang or '').startswith('zh') else entry[1]


def mode_selection(lang='en_US'):
    """(mode, label) pairs for an Odoo Selection field."""
    return [(mode, mode_label(mode, lang)) for mode in MODES]


def _error(code, message_zh, message_en, **params):
    return Hj1321Error(code, message_zh, message_en, **params)


def _exact(value, what_zh, what_en, code='transport.tonnage'):
    """`value` (int, float, Decimal or Fraction, >= 0) as an exact Fraction."""
    if isinstance(value, bool) or not isinstance(
            value, (int, float, decimal.Decimal, Fraction)):
        raise _error(code, '%s必须是数字，收到 %r' % (what_zh, value),
                     '%s must be a number, got %r' % (what_en, value), value=value)
    try:
        if isinstance(value, float):
            # The decimal text of the float: 0.1 t is 1/10 t, not 0.1000000000000000055...
            exact = Fraction(decimal.Decimal(repr(value)))
        else:
            exact = Fraction(value)
    except (ValueError, OverflowError, decimal.InvalidOperation):
        raise _error(code, '%s必须是有限的数字，收到 %r' % (what_zh, value),
                     '%s must be a finite number, got %r' % (what_en, value), value=value)
    if exact < 0:
        raise _error(code, '%s不能为负数，收到 %r' % (what_zh, value),
                     '%s cannot be negative, got %r' % (what_en, value), value=value)
    return exact


def _count(value, what_zh, what_en, code='transport.trips'):
    """`value` as a non-negative int (an integral float such as 3.0 is accepted)."""
    exact = _exact(value, what_zh, what_en, code)
    if exact.denominator != 1:
        raise _error(code, '%s必须是整数，收到 %r' % (what_zh, value),
                     '%s must be a whole number, got %r' % (what_en, value), value=value)
    return int(exact)


def _none(value):
    """Odoo reads an empty field as False; treat it and '' as None."""
    return None if value is False or value == '' else value


def _stage(value, where_zh, where_en):
    value = _none(value)
    if value is None or codes.is_valid('emission_stage', value):
        return value
    raise _error('transport.stage', '%s的排放阶段代码 %r 无效' % (where_zh, value),
                 'Invalid emission stage code %r in %s' % (value, where_en), value=value)


def _fuel(value, where_zh, where_en):
    value = _none(value)
    if value is None or codes.is_valid('fuel_type', value):
        return value
    raise _error('transport.fuel', '%s的燃料类型代码 %r 无效' % (where_zh, value),
                 'Invalid fuel type code %r in %s' % (value, where_en), value=value)


def _pct(share):
    """A Fraction in 0..1 as a percentage text, cut (not rounded) to two decimals and
    shown with at least one: 4/5 -> '80.0', 4999/10000 -> '49.99', 2/3 -> '66.66'."""
    hundredths = share.numerator * 10000 // share.denominator
    text = '%d.%02d' % divmod(hundredths, 100)
    if text.endswith('0'):
        text = text[:-1]
    return text


def _pct_threshold(share):
    """A threshold as a short percentage text: 4/5 -> '80', 7/8 -> '87.5'."""
    percent = share * 100
    if percent.denominator == 1:
        return '%d' % percent
    return _pct(share)


def _num(value):
    """A count or tonnage for a message: '10', '12.5', '0.333' (at most 3 decimals)."""
    value = Fraction(value)
    if value.denominator == 1:
        return '%d' % value
    text = '%.3f' % float(value)
    return text.rstrip('0').rstrip('.')


def _share(part, whole):
    return Fraction(part, 1) / whole if whole else None


def _float(fraction):
    return float(fraction) if fraction is not None else None


def _normalize_row(row):
    if not isinstance(row, Row):
        try:
            row = Row(*row)
        except TypeError:
            raise _error('transport.row', '每行须为 Row(mode, cargo, direction, tonnage, '
                         'trips, stage, fuel)，收到 %r' % (row,),
                         'Each row must be a Row(mode, cargo, direction, tonnage, trips, '
                         'stage, fuel), got %r' % (row,), value=row)
    mode = row.mode
    if mode not in MODES:
        raise _error('transport.mode', '未知的运输方式 %r（可用：%s）' % (mode, '、'.join(MODES)),
                     'Unknown transport mode %r (known: %s)' % (mode, ', '.join(MODES)),
                     value=mode)
    cargo = None if row.cargo is False else row.cargo
    try:
        hash(cargo)
    except TypeError:
        raise _error('transport.cargo', '货物键必须可哈希，收到 %r' % (cargo,),
                     'The cargo key must be hashable, got %r' % (cargo,), value=cargo)
    direction = _none(row.direction)
    if direction is not None and direction not in DIRECTIONS:
        raise _error('transport.direction', '运输方向必须是 in 或 out，收到 %r' % (direction,),
                     "The direction must be 'in' or 'out', got %r" % (direction,),
                     value=direction)
    tonnage = _exact(row.tonnage, '运输量', 'The tonnage')
    trips = _count(row.trips or 0, '车次', 'The number of trips')
    if mode == 'road':
        stage = _stage(row.stage, '公路运输行', 'a road row')
        fuel = _fuel(row.fuel, '公路运输行', 'a road row')
    else:
        stage, fuel = _none(row.stage), _none(row.fuel)
        if stage is not None or fuel is not None:
            label_zh, label_en = MODE_LABELS[mode]
            raise _error('transport.stage',
                         '%s运输行不应有排放阶段或燃料类型（收到 %r / %r）'
                         % (label_zh, stage, fuel),
                         'A %s row carries no emission stage or fuel (got %r / %r)'
                         % (label_en.lower(), stage, fuel), value=(stage, fuel))
        trips = 0       # only truck trips are counted
    return Row(mode, cargo, direction, tonnage, trips, stage, fuel)


def _is_new_energy(stage, fuel):
    return stage == 'D' or fuel in codes.NEW_ENERGY_FUELS


def _is_unknown_stage(stage, fuel):
    """Stage unknown and not new energy by fuel: neither clean nor V+ (a register gap)."""
    return stage in _UNKNOWN_STAGES and fuel not in codes.NEW_ENERGY_FUELS


def _add(mapping, key, value):
    mapping[key] = mapping.get(key, 0) + value


def _figures(rows, clean_modes, clean_trucks, by_cargo_direction):
    total = clean = road = v_plus_t = unknown_t = below_vi_t = Fraction(0)
    road_trips = v_plus_trips = unknown_trips = below_vi_trips = 0
    by_mode = collections.OrderedDict((mode, Fraction(0)) for mode in MODES)
    by_stage, by_fuel, trips_by_stage = {}, {}, {}
    for row in rows:
        total += row.tonnage
        by_mode[row.mode] += row.tonnage
        if row.mode != 'road':
            if row.mode in clean_modes:
                clean += row.tonnage
            continue
        road += row.tonnage
        road_trips += row.trips
        stage_key = UNKNOWN if row.stage in _UNKNOWN_STAGES else row.stage
        _add(by_stage, stage_key, row.tonnage)
        _add(trips_by_stage, stage_key, row.trips)
        _add(by_fuel, row.fuel if row.fuel is not None else UNKNOWN, row.tonnage)
        v_plus = codes.is_v_plus_or_new_energy(row.stage, row.fuel)
        if v_plus:
            v_plus_t += row.tonnage
            v_plus_trips += row.trips
        if _is_unknown_stage(row.stage, row.fuel):
            unknown_t += row.tonnage
            unknown_trips += row.trips
        if not (row.stage in _VI_OR_NE or row.fuel in codes.NEW_ENERGY_FUELS):
            below_vi_t += row.tonnage
            below_vi_trips += row.trips
        if clean_trucks == 'v_plus':
            is_clean = v_plus
        else:
            is_clean = _is_new_energy(row.stage, row.fuel)
        if is_clean:
            clean += row.tonnage
    clean_fraction = _share(clean, total)
    trip_fraction = _share(v_plus_trips, road_trips)
    tonnage_fraction = _share(v_plus_t, road)
    return Figures(
        total_tonnage=float(total),
        tonnage_by_mode=collections.OrderedDict((k, float(v)) for k, v in by_mode.items()),
        road_tonnage_by_stage={k: float(v) for k, v in by_stage.items()},
        road_tonnage_by_fuel={k: float(v) for k, v in by_fuel.items()},
        road_trips_by_stage=trips_by_stage,
        clean_tonnage=float(clean),
        clean_share=_float(clean_fraction),
        road_trips=road_trips,
        v_plus_trips=v_plus_trips,
        v_plus_trip_share=_float(trip_fraction),
        road_tonnage=float(road),
        v_plus_tonnage=float(v_plus_t),
        v_plus_tonnage_share=_float(tonnage_fraction),
        unknown_stage_trips=unknown_trips,
        unknown_stage_tonnage=float(unknown_t),
        below_vi_trips=below_vi_trips,
        below_vi_tonnage=float(below_vi_t),
        clean_fraction=clean_fraction,
        v_plus_trip_fraction=trip_fraction,
        v_plus_tonnage_fraction=tonnage_fraction,
        clean_trucks=clean_trucks,
        by_cargo_direction=by_cargo_direction,
    )


# -- public API -----------------------------------------------------------------------

def summarize(rows, clean_modes=CLEAN_MODES, clean_trucks='new_energy'):
    """The transport figures of `rows` (an iterable of `Row`), overall and per
    (cargo, direction).

    clean_modes: the non-road modes that count as clean transport.
    clean_trucks: 'new_energy' (2024 ultra-low-emission rules: only electric / hydrogen
    trucks, stage 'D' or fuel in codes.NEW_ENERGY_FUELS, are clean road transport) or
    'v_plus' (China V+ and new-energy trucks count).

    Road rows with stage None or 'X' are keyed 'unknown' in the by-stage figures and,
    unless their fuel makes them new energy, are neither clean nor V+; they are counted
    in `unknown_stage_trips` / `unknown_stage_tonnage` so a clerk can fix the register.
    Shares are None when their base is 0. Raises Hj1321Error for a bad row or setting.
    """
    if clean_trucks not in CLEAN_TRUCKS:
        raise _error('transport.clean_trucks',
                     '清洁公路运输口径必须是 %s 之一，收到 %r' % ('、'.join(CLEAN_TRUCKS), clean_trucks),
                     'clean_trucks must be one of %s, got %r'
                     % (', '.join(CLEAN_TRUCKS), clean_trucks), value=clean_trucks)
    if isinstance(clean_modes, str):
        clean_modes = (clean_modes,)
    clean_modes = frozenset(clean_modes or ())
    for mode in clean_modes:
        if mode not in CLEAN_MODES:
            raise _error('transport.clean_modes',
                         '清洁运输方式 %r 无效（可用：%s；公路由车辆口径决定）'
                         % (mode, '、'.join(CLEAN_MODES)),
                         'Invalid clean mode %r (allowed: %s; road is governed by '
                         'clean_trucks)' % (mode, ', '.join(CLEAN_MODES)), value=mode)
    if rows is None:
        rows = ()
    normalized = [_normalize_row(row) for row in rows]
    groups = collections.OrderedDict()
    for row in normalized:
        groups.setdefault((row.cargo, row.direction), []).append(row)
    sub = collections.OrderedDict(
        (key, _figures(group, clean_modes, clean_trucks, {})) for key, group in groups.items())
    return _figures(normalized, clean_modes, clean_trucks, sub)


def stage_counts(rows, basis='trips'):
    """{stage: trips or tonnage} of the road rows, ready for `transport_grade`.

    A row whose fuel is new energy (codes.NEW_ENERGY_FUELS) is keyed 'D' whatever stage
    was recorded; a missing stage is keyed 'X'. Tonnages are exact Fractions.
    """
    _check_basis(basis)
    counts = {}
    for row in (rows or ()):
        row = _normalize_row(row)
        if row.mode != 'road':
            continue
        if row.fuel in codes.NEW_ENERGY_FUELS:
            key = 'D'
        else:
            key = row.stage if row.stage is not None else 'X'
        _add(counts, key, row.trips if basis == 'trips' else row.tonnage)
    return counts


def _check_basis(basis):
    if basis not in BASES:
        raise _error('transport.basis', '统计口径必须是 trips（车次）或 tonnage（吨位），收到 %r'
                     % (basis,), "basis must be 'trips' or 'tonnage', got %r" % (basis,),
                     value=basis)


def _stage_map(mapping, what_zh, what_en, integral):
    """{stage code or 'X': amount} from a {stage: count} mapping, validated."""
    if not hasattr(mapping, 'items'):
        raise _error('transport.stages', '%s必须是 {排放阶段: 数量} 字典，收到 %r'
                     % (what_zh, mapping),
                     '%s must be a {stage: amount} mapping, got %r' % (what_en, mapping),
                     value=mapping)
    result = {}
    for stage, amount in mapping.items():
        if stage == UNKNOWN:
            stage = 'X'
        stage = _stage(stage, what_zh, what_en)
        if stage is None:
            stage = 'X'
        if integral:
            value = _count(amount, '%s的数量' % what_zh, 'An amount in %s' % what_en,
                           'transport.count')
        else:
            value = _exact(amount, '%s的数量' % what_zh, 'An amount in %s' % what_en,
                           'transport.count')
        _add(result, stage, value)
    return result


def _fleet_check(rule, counts, ok_stages, what_zh, what_en, need_zh, need_en):
    """Grade A's condition on the in-plant vehicles or the machinery register."""
    if counts is None:
        return Check(rule, False, None, 0,
                     '%s：未核查（未提供数据），不能评为A级' % what_zh,
                     '%s: not checked (no data given), so grade A cannot be granted'
                     % what_en)
    total = sum(counts.values())
    bad = sum(n for stage, n in counts.items() if stage not in ok_stages)
    unknown = counts.get('X', 0)
    if total == 0:
        return Check(rule, True, 0, 0,
                     '%s：登记数量为0，无不达标（A级要求全部%s）' % (what_zh, need_zh),
                     '%s: none registered, so none below the rule (grade A needs all %s)'
                     % (what_en, need_en))
    detail_zh = '（其中排放阶段不明 %s）' % _num(unknown) if unknown else ''
    detail_en = ' (unknown stage: %s)' % _num(unknown) if unknown else ''
    return Check(rule, bad == 0, bad, 0,
                 '%s：共 %s，不符合要求 %s%s；A级要求全部%s'
                 % (what_zh, _num(total), _num(bad), detail_zh, need_zh),
                 '%s: %s in total, %s not meeting the rule%s; grade A needs all %s'
                 % (what_en, _num(total), _num(bad), detail_en, need_en))


def transport_grade(road_by_stage, in_plant_by_stage=None, machinery_by_stage=None,
                    basis='trips'):
    """The transport grade of the 2020 performance-grading guide.

    road_by_stage: {emission stage code: trips (basis 'trips') or tonnage (basis
    'tonnage')} of road haulage; new-energy trucks must be keyed 'D' (see `stage_counts`);
    None, 'X' and 'unknown' are an unknown stage, which is neither V+ nor China IV.
    in_plant_by_stage / machinery_by_stage: {stage: number of vehicles / machines} of the
    registers, or None when not checked: then grade A cannot be granted and the check
    says so. An empty register ({}) passes (nothing below the rule) and the message says
    none is registered.

    Returns a GradeResult whose checks explain every condition with its numbers.
    Raises Hj1321Error for an unknown basis, a bad stage code or a negative amount.
    """
    _check_basis(basis)
    trips = basis == 'trips'
    unit_zh, unit_en = ('趟', 'trips') if trips else ('吨', 't')
    road = _stage_map(road_by_stage, '公路运输', 'road haulage', integral=trips)
    in_plant = None if in_plant_by_stage is None else _stage_map(
        in_plant_by_stage, '厂内运输车辆', 'in-plant vehicles', integral=True)
    machinery = None if machinery_by_stage is None else _stage_map(
        machinery_by_stage, '非道路移动机械', 'non-road machinery', integral=True)

    in_plant_check = _fleet_check(
        'A.in_plant', in_plant, codes.CLEAN_STAGES, '厂内运输车辆', 'In-plant vehicles',
        '国五及以上或新能源', 'China V+ or new energy')
    machinery_check = _fleet_check(
        'A.machinery', machinery, _MACHINERY_OK, '非道路移动机械', 'Non-road machinery',
        '国三及以上或新能源', 'China III+ or new energy')

    total = sum(road.values())
    if total == 0:
        checks = [Check('road.data', False, 0, None,
                        '没有公路运输数据（0 %s），无法评级' % unit_zh,
                        'No road haulage recorded (0 %s): no grade can be given' % unit_en),
                  in_plant_check, machinery_check]
        return GradeResult('-', None, checks, basis)

    v_plus = sum(n for stage, n in road.items() if stage in codes.CLEAN_STAGES)
    share = Fraction(v_plus) / total
    below_iv = sum(n for stage, n in road.items() if stage not in _AT_LEAST_IV)
    unknown = road.get('X', 0)
    share_zh = '国五及以上/新能源占比 %s%%（%s/%s %s）' % (
        _pct(share), _num(v_plus), _num(total), unit_zh)
    share_en = 'China V+/new-energy share %s %% (%s of %s %s)' % (
        _pct(share), _num(v_plus), _num(total), unit_en)

    a_road = Check('A.road', share == 1, float(share), 1.0,
                   '%s，A级要求100%%（全部公路运输）' % share_zh,
                   '%s, grade A needs 100 %% (all road haulage)' % share_en)
    b_share = Check('B.share', share >= _B_SHARE, float(share), float(_B_SHARE),
                    '%s，B级要求≥%s%%' % (share_zh, _pct_threshold(_B_SHARE)),
                    '%s, grade B needs ≥ %s %%' % (share_en, _pct_threshold(_B_SHARE)))
    detail_zh = '（其中排放阶段不明 %s %s）' % (_num(unknown), unit_zh) if unknown else ''
    detail_en = ' (unknown stage: %s %s)' % (_num(unknown), unit_en) if unknown else ''
    b_rest = Check('B.rest', below_iv == 0, float(below_iv), 0.0,
                   '国四以下或排放阶段不明 %s %s%s，B级要求其余至少国四（应为0）'
                   % (_num(below_iv), unit_zh, detail_zh),
                   '%s %s below China IV or with unknown stage%s; grade B needs the rest '
                   'at least China IV (none below)' % (_num(below_iv), unit_en, detail_en))
    c_share = Check('C.share', share >= _C_SHARE, float(share), float(_C_SHARE),
                    '%s，C级要求≥%s%%' % (share_zh, _pct_threshold(_C_SHARE)),
                    '%s, grade C needs ≥ %s %%' % (share_en, _pct_threshold(_C_SHARE)))
    checks = [a_road, in_plant_check, machinery_check, b_share, b_rest, c_share]

    if a_road.passed and in_plant_check.passed and machinery_check.passed:
        grade = 'A'
    elif b_share.passed and b_rest.passed:
        grade = 'B'
    elif c_share.passed:
        grade = 'C'
    else:
        grade = '-'
    return GradeResult(grade, float(share), checks, basis)


def ultra_low_check(figures, target=0.8):
    """The 2024 ultra-low-emission transport target for `figures` (from `summarize`,
    normally of bulk cargo only).

    Met when the clean-transport share of the tonnage is >= target (compared exactly), or
    else when road haulage is entirely China VI or new energy (no road trip or tonnage
    below stage '6' except 'D' or a new-energy fuel; an unknown stage does not count as
    VI). With no road haulage recorded the second condition does not hold. The message
    says which condition held, or why neither did.
    """
    if not isinstance(figures, Figures):
        raise _error('transport.figures', '需要 summarize() 的结果，收到 %r' % (figures,),
                     'Expected the result of summarize(), got %r' % (figures,),
                     value=figures)
    goal = _exact(target, '目标比例', 'The target', 'transport.target')
    if not 0 < goal <= 1:
        raise _error('transport.target', '目标比例必须在 0 到 1 之间，收到 %r' % (target,),
                     'The target must be a fraction between 0 and 1, got %r' % (target,),
                     value=target)
    goal_text = _pct_threshold(goal)
    share = figures.clean_fraction
    road_any = figures.road_trips > 0 or figures.road_tonnage > 0
    all_vi = road_any and figures.below_vi_trips == 0 and figures.below_vi_tonnage == 0

    if share is None:
        share_zh = '没有运输量数据，清洁运输占比无法计算'
        share_en = 'no tonnage recorded, so the clean-transport share cannot be computed'
    else:
        share_zh = '清洁运输占比 %s%%（%s/%s 吨）' % (
            _pct(share), _num(figures.clean_tonnage), _num(figures.total_tonnage))
        share_en = 'clean-transport share %s %% (%s of %s t)' % (
            _pct(share), _num(figures.clean_tonnage), _num(figures.total_tonnage))

    if share is not None and share >= goal:
        return Check('ultra_low', True, float(share), float(goal),
                     '%s，达到≥%s%%的目标' % (share_zh, goal_text),
                     'Met: %s reaches the ≥ %s %% target' % (share_en, goal_text))
    below_zh = '%s，未达到≥%s%%' % (share_zh, goal_text) if share is not None else share_zh
    below_en = ('%s is below %s %%' % (share_en, goal_text)) if share is not None else share_en
    if all_vi:
        return Check('ultra_low', True, _float(share), float(goal),
                     '%s；但公路运输全部为国六或新能源车辆（%s 趟），满足要求'
                     % (below_zh, _num(figures.road_trips)),
                     'Met: %s, but road haulage is entirely China VI or new energy (%s trips)'
                     % (below_en, _num(figures.road_trips)))
    if not road_any:
        road_zh, road_en = '且没有公路运输数据', 'and no road haulage is recorded'
    else:
        unknown_zh = ('，其中排放阶段不明 %s 趟' % _num(figures.unknown_stage_trips)
                      if figures.unknown_stage_trips else '')
        unknown_en = (', %s of them with unknown stage' % _num(figures.unknown_stage_trips)
                      if figures.unknown_stage_trips else '')
        road_zh = '且公路运输中有 %s 趟（%s 吨）非国六/新能源车辆%s' % (
            _num(figures.below_vi_trips), _num(figures.below_vi_tonnage), unknown_zh)
        road_en = 'and road haulage has %s trips (%s t) by trucks below China VI and not ' \
                  'new energy%s' % (_num(figures.below_vi_trips),
                                    _num(figures.below_vi_tonnage), unknown_en)
    return Check('ultra_low', False, _float(share), float(goal),
                 '%s，%s，未达到目标' % (below_zh, road_zh),
                 'Not met: %s, %s' % (below_en, road_en))
