"""The barrier decision: pass, refuse or hold a vehicle at a lane, from local data only.

`decide(read, vehicle, blacklist, strategies, lane, now)` is a pure function: it reads no
clock, no file and no network, so the box decides the same way with the ERP unreachable
and the tests pin every rule. `cache.Cache.decide` looks the inputs up and calls it.

Inputs
    read        a cameras.PlateRead, or anything with `plate_key`, `confidence` (0-100 or
                None) and `direction` ('in', 'out' or None); `plate_raw` is used for the
                display when present.
    vehicle     the register entry (`Vehicle`) of read.plate_key, or None: unregistered.
    blacklist   the `BlacklistEntry` rows of that plate (one entry, a sequence, or None);
                only those valid at `now` count.
    strategies  emergency strategies (`Strategy`); only those whose period holds `now`
                count, so the cache may pass them all.
    lane        the lane's `LanePolicy` (None: DEFAULT_LANE).
    now         naive UTC datetime (the ERP's and cameras.PlateRead's convention).

Order of the checks, first match wins (entry direction):
    1. no plate read                 -> lane.no_plate             reason 'no_plate'
    2. confidence < lane.min_confidence (a read without a confidence is not judged)
                                     -> lane.low_confidence       reason 'low_confidence'
       (policy 'pass' means "trust the read": the checks below still run)
    3. valid blacklist entry         -> refuse                    reason 'blacklisted'
       (the authority's list beats every exemption)
    4. not in the register           -> lane.unregistered         reason 'unregistered';
       with policy 'pass' the vehicle is still checked against active strategies as a
       vehicle of unknown stage: a rule that needs the stage holds it for the guard, a
       rule that needs nothing refuses it, an exempted plate passes as 'exempt'; a
       require_clean lane holds it too.
    5. active strategies             -> refuse (or hold, if the rule says so)
                                        reason 'emergency_<level>' (highest level wins);
       a rule that would match only because the register lacks the stage, fuel, vehicle
       type or category -> hold, reason 'register_incomplete' (the guard reads the
       随车清单); an exempted vehicle that a rule would stop -> pass, reason 'exempt'.
    6. lane.require_clean (lanes of A-grade plants: China V+ or new energy only)
                                     -> refuse 'stage_not_allowed' (unknown stage: hold
                                        'register_incomplete')
    7. otherwise                     -> pass 'ok'

Exit direction (decided and tested): a vehicle inside the plant must be able to leave,
so nothing is refused on exit. Strategies and require_clean do not apply at all
(an emergency restricts entering trucks; keeping a IV truck inside helps nobody). A
blacklisted vehicle leaving is held for the guard by default (lane.blacklist_exit
'hold'; 'pass' lets it out): the authority wants it found, and the guard records it.
Lane policies for no plate / low confidence / unregistered apply, with 'refuse'
softened to 'hold'.

A lane policy value this module does not know is read as 'hold': a bad setting never
opens the barrier.

Direction: the read's direction when it says 'in' or 'out', else the lane's, else
(a two-way lane and a camera that does not tell) 'in', the stricter reading.

Periods: a strategy is active when date_start <= now < date_end (start inclusive, end
exclusive, so back-to-back periods never overlap or leave a gap); a blacklist entry
counts when valid_from <= now < valid_to. A missing bound is open.

Rule matching (`rule_matches`): a rule names a maximum stage (max_stage '4' = China IV
and below; None = every stage), fuels, vehicle-type prefixes (public-security codes:
'H1' heavy trucks, 'Q1' heavy tractors) and categories ('transport', 'in_plant'); None
means any. Electric stage 'D' and new-energy fuels (hj1321.codes.NEW_ENERGY_FUELS) are
never below a max_stage. A criterion the register cannot answer (stage 'X' or missing,
no fuel, no vehicle type or 'X99', no category) is UNKNOWN, never a silent pass.

Standard library only, plus the framework-free hj1321 package.
"""
import collections

from hj1321 import codes

PASS = 'pass'
HOLD = 'hold'
REFUSE = 'refuse'
ACTIONS = (PASS, HOLD, REFUSE)
POLICY_VALUES = ACTIONS             # lane policies for no plate / low confidence / unregistered

IN = 'in'
OUT = 'out'
BOTH = 'both'

LEVELS = ('yellow', 'orange', 'red')
_LEVEL_RANK = {'yellow': 1, 'orange': 2, 'red': 3}
# hj1321 alert_level table codes -> names used here
_LEVEL_CODES = {'1': 'yellow', '2': 'orange', '3': 'red'}

# Register flags the ERP sends (Vehicle.flags) that strategies may exempt.
FLAG_SPECIAL = 'special'            # special-purpose vehicle (专项作业车 / 特种车辆)
FLAG_HAZARDOUS = 'hazardous'        # hazardous-goods transport (危险货物运输车)
FLAG_LIVELIHOOD = 'livelihood'      # livelihood supply (民生保障), exempt only when listed
DEFAULT_EXEMPT_FLAGS = frozenset([FLAG_SPECIAL, FLAG_HAZARDOUS])

# Heavy goods vehicles in the public-security vehicle type table: H1x heavy trucks,
# Q1x heavy tractors. The grading rules and alert notices speak of heavy trucks (重型
# 载货车辆); trailers carry no engine and are judged by their tractor.
HEAVY_GOODS_CLASSES = ('H1', 'Q1')

# Stage codes with an order; 'D' (electric) and 'X' (none/unknown) have none.
_STAGE_RANK = {'0': 0, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6}
STAGES_ORDERED = tuple(sorted(_STAGE_RANK, key=_STAGE_RANK.get))
# Vehicle type 'X99' (other) tells nothing about weight class.
_UNKNOWN_TYPES = frozenset(['', 'X99'])

# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------

Vehicle = collections.namedtuple('Vehicle', (
    'plate_key stage fuel vehicle_type category flags plate_color owner id'),
    defaults=(None, None, None, None, (), None, '', 0))
Vehicle.__doc__ = """One register entry as the gate needs it.

plate_key: hj1321.plates.normalize_plate of the plate. stage: emission_stage code
('0'..'6', 'D', 'X') or None. fuel: fuel_type code or None. vehicle_type: public-security
code ('H11', 'Q11'...) or None. category: 'transport' or 'in_plant' or None. flags: a
sorted tuple of register flags (FLAG_SPECIAL, FLAG_HAZARDOUS...; any iterable works).
plate_color: HJ colour code. owner: fleet / owner name. id: the ERP record id.

Only strings, None, ints and a tuple of strings: the garbage collector stops tracking
such tuples, so 100,000 of them add nothing to collection pauses, and json encodes them
as arrays directly (the cache file)."""

BlacklistEntry = collections.namedtuple('BlacklistEntry', (
    'plate_key source reason valid_from valid_to id'), defaults=('', '', None, None, 0))
BlacklistEntry.__doc__ = """One authority flag (超标车辆名单): valid_from <= now < valid_to
(naive UTC datetimes, None = open); source names the authority or list."""

Rule = collections.namedtuple('Rule', 'max_stage fuels vehicle_classes categories action',
                              defaults=(None, None, None, None, REFUSE))
Rule.__doc__ = """One strategy rule: vehicles it stops, None meaning any.

max_stage: '0'..'6' (that stage and below) or None (every stage, electric included);
fuels: fuel codes; vehicle_classes: prefixes of vehicle type codes ('H1' = every H1x);
categories: 'transport' / 'in_plant'; action: REFUSE or HOLD."""

Strategy = collections.namedtuple('Strategy', (
    'level date_start date_end rules exempt_flags exempt_plates id name'),
    defaults=(None, None, None, DEFAULT_EXEMPT_FLAGS, frozenset(), 0, ''))
Strategy.__doc__ = """An emergency control strategy (env.gate.strategy).

level: 'yellow', 'orange' or 'red'. Active when date_start <= now < date_end (naive UTC,
None = open). rules: a tuple of Rule, or None for DEFAULT_RULES[level] (an empty tuple
stops nothing). exempt_flags: register flags that exempt a vehicle. exempt_plates:
plate keys exempted by name."""

LanePolicy = collections.namedtuple('LanePolicy', (
    'code direction unregistered low_confidence min_confidence no_plate blacklist_exit '
    'require_clean'), defaults=('', BOTH, HOLD, HOLD, 90.0, HOLD, HOLD, False))
LanePolicy.__doc__ = """What a lane does where the register cannot decide.

direction: 'in', 'out' or 'both' (used when the camera does not tell). unregistered,
low_confidence, no_plate: 'pass', 'hold' or 'refuse' ('pass' for low_confidence means
"decide on the read anyway"). min_confidence: 0-100. blacklist_exit: 'hold' or 'pass'.
require_clean: only China V+ or new-energy vehicles may enter (A-grade plants)."""

DEFAULT_LANE = LanePolicy()

# Realistic default rule sets per alert level, used when a strategy sends no rules.
# Sources (HJ1321.md): one platform's 管控策略 1 "ban China III and below heavy diesel/gas",
# the typical orange notice "stop IV-and-below heavy trucks (gas included), special and
# hazardous-goods vehicles excepted", and red alerts where only China VI and new-energy
# heavy trucks may run (the brief's "China V diesel heavy trucks too"). No fuel filter:
# gas trucks are included and new energy never matches a max_stage anyway.
DEFAULT_RULES = {
    'yellow': (Rule(max_stage='3', vehicle_classes=HEAVY_GOODS_CLASSES),),
    'orange': (Rule(max_stage='4', vehicle_classes=HEAVY_GOODS_CLASSES),),
    'red': (Rule(max_stage='5', vehicle_classes=HEAVY_GOODS_CLASSES),),
}

# reason code -> (LED short zh (<= 4 characters), zh for voice and logs, en)
REASONS = collections.OrderedDict([
    ('ok', ('', '', 'allowed')),
    ('exempt', ('豁免', '豁免车辆', 'exempt from the emergency strategy')),
    ('blacklisted', ('黑名单', '黑名单车辆', 'on the authority blacklist')),
    ('emergency_yellow', ('黄色预警', '黄色预警管控', 'yellow alert emergency control')),
    ('emergency_orange', ('橙色预警', '橙色预警管控', 'orange alert emergency control')),
    ('emergency_red', ('红色预警', '红色预警管控', 'red alert emergency control')),
    ('stage_not_allowed', ('排放不符', '排放阶段不符合要求',
                           'emission stage not allowed here (China V+ or new energy only)')),
    ('register_incomplete', ('信息不全', '车辆登记信息不全',
                             'the register lacks the stage, fuel, type or category a rule '
                             'needs')),
    ('unregistered', ('未登记', '未登记车辆', 'vehicle not in the register')),
    ('low_confidence', ('识别不清', '车牌识别不清', 'plate read below the minimum confidence')),
    ('no_plate', ('未识别', '未识别到车牌', 'no plate read')),
])
REASON_CODES = tuple(REASONS)
ACTION_TEXTS = {PASS: ('放行', 'pass'), REFUSE: ('禁止通行', 'refuse'),
                HOLD: ('请稍候', 'hold for the guard')}

# hj1321.events decision for an event made from a Decision (None: leave it out; the
# guard's manual_lift event completes a held passage).
_EVENT_DECISIONS = {PASS: 'pass', REFUSE: 'refuse'}
_UNRECOGNISED = frozenset(['no_plate', 'low_confidence'])

_STAGE_ZH = {c.code: c.name_zh for c in codes.table('emission_stage')}
_STAGE_EN = {c.code: c.name_en for c in codes.table('emission_stage')}
_FUEL_ZH = {c.code: c.name_zh for c in codes.table('fuel_type')}
_FUEL_EN = {c.code: c.name_en for c in codes.table('fuel_type')}


class Decision(collections.namedtuple('Decision', (
        'action reason plate_key direction led_lines voice text_zh text_en detail'))):
    """What the gate does with one read.

    action: PASS, REFUSE or HOLD (barrier stays closed until the guard acts). reason: one
    of REASON_CODES. led_lines: 3 short lines for the LED board (plate, stage and fuel,
    verdict). voice: the sentence for the voice board. text_zh / text_en: one line for
    screens and logs. detail: a dict (strategy id, level, rule index, blacklist source,
    lane policy used, confidence) for the ledger and the logs.
    """
    __slots__ = ()

    @property
    def opens(self):
        """True when the barrier opens by itself."""
        return self.action == PASS

    @property
    def event_decision(self):
        """The hj1321.events decision for this outcome, or None (held: the guard's lift
        event completes the passage)."""
        if self.action == HOLD:
            return 'unrecognised' if self.reason in _UNRECOGNISED else None
        return _EVENT_DECISIONS[self.action]


# ---------------------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------------------

def level_name(value):
    """'yellow' / 'orange' / 'red' for a level name or alert_level code ('1'..'3');
    raises ValueError otherwise."""
    text = str(value).strip().lower() if value is not None else ''
    if text in _LEVEL_RANK:
        return text
    if text in _LEVEL_CODES:
        return _LEVEL_CODES[text]
    raise ValueError('unknown alert level %r (yellow, orange, red or 1, 2, 3)' % (value,))


def level_rank(level):
    """1 for yellow, 2 for orange, 3 for red."""
    return _LEVEL_RANK[level]


def in_period(start, end, now):
    """start <= now < end, a None bound being open (start inclusive, end exclusive)."""
    return (start is None or start <= now) and (end is None or now < end)


def strategy_active(strategy, now):
    """True when `now` is inside the strategy's period."""
    return in_period(strategy.date_start, strategy.date_end, now)


def blacklist_valid(entry, now):
    """True when the blacklist entry counts at `now`."""
    return in_period(entry.valid_from, entry.valid_to, now)


def rules_of(strategy):
    """The strategy's rules: its own, or DEFAULT_RULES of its level when it sent none."""
    if strategy.rules is None:
        return DEFAULT_RULES.get(strategy.level, ())
    return strategy.rules


def is_clean(vehicle):
    """True for China V+ or new energy (hj1321.codes.is_v_plus_or_new_energy)."""
    return codes.is_v_plus_or_new_energy(vehicle.stage, vehicle.fuel)


# ---------------------------------------------------------------------------------------
# Rule matching
# ---------------------------------------------------------------------------------------

MATCH = 'match'
NO_MATCH = 'no_match'
UNKNOWN = 'unknown'


def _stage_test(max_stage, vehicle):
    if max_stage is None:
        return MATCH
    if vehicle.stage == 'D' or vehicle.fuel in codes.NEW_ENERGY_FUELS:
        return NO_MATCH
    rank = _STAGE_RANK.get(vehicle.stage)
    if rank is None:                        # 'X', None or a code the table lacks
        return UNKNOWN
    return MATCH if rank <= _STAGE_RANK[max_stage] else NO_MATCH


def _member_test(allowed, value):
    if allowed is None:
        return MATCH
    if not value:
        return UNKNOWN
    return MATCH if value in allowed else NO_MATCH


def _class_test(prefixes, vehicle_type):
    if prefixes is None:
        return MATCH
    if not vehicle_type or vehicle_type in _UNKNOWN_TYPES:
        return UNKNOWN
    return MATCH if vehicle_type.startswith(tuple(prefixes)) else NO_MATCH


def rule_matches(rule, vehicle):
    """MATCH, NO_MATCH or UNKNOWN (the register cannot tell) for one rule and vehicle.

    Any criterion that fails makes NO_MATCH, even when another is unknown: a petrol car
    of unknown stage is not caught by a diesel-only rule.
    """
    unknown = False
    for result in (_stage_test(rule.max_stage, vehicle),
                   _member_test(rule.fuels, vehicle.fuel),
                   _class_test(rule.vehicle_classes, vehicle.vehicle_type),
                   _member_test(rule.categories, vehicle.category)):
        if result == NO_MATCH:
            return NO_MATCH
        if result == UNKNOWN:
            unknown = True
    return UNKNOWN if unknown else MATCH


def is_exempt(strategy, vehicle):
    """True when the plate is on the strategy's exemption list or a flag exempts it."""
    if vehicle.plate_key in strategy.exempt_plates:
        return True
    exempt_flags = strategy.exempt_flags
    return any(flag in exempt_flags for flag in vehicle.flags or ())


# strength of a strategy outcome: the strongest over all active strategies wins
EXEMPT = 'exempt'
_OUTCOME_RANK = {EXEMPT: 1, UNKNOWN: 2, HOLD: 3, REFUSE: 4}

Verdict = collections.namedtuple('Verdict', 'outcome strategy rule_index')
Verdict.__doc__ = """How one strategy treats one vehicle: outcome REFUSE or HOLD (a rule
matched), UNKNOWN (a rule matches only for lack of register data), EXEMPT (a rule would
stop it but an exemption applies); rule_index is the 0-based index in rules_of()."""


def evaluate_strategy(strategy, vehicle):
    """The Verdict of one strategy (period NOT checked), or None when no rule applies."""
    best, best_index = None, None
    for index, rule in enumerate(rules_of(strategy)):
        result = rule_matches(rule, vehicle)
        if result == NO_MATCH:
            continue
        outcome = (REFUSE if rule.action == REFUSE else HOLD) if result == MATCH else UNKNOWN
        if best is None or _OUTCOME_RANK[outcome] > _OUTCOME_RANK[best]:
            best, best_index = outcome, index
    if best is None:
        return None
    if is_exempt(strategy, vehicle):
        return Verdict(EXEMPT, strategy, best_index)
    return Verdict(best, strategy, best_index)


def strategies_verdict(strategies, vehicle, now):
    """The strongest Verdict of the strategies active at `now` (REFUSE > HOLD > UNKNOWN >
    EXEMPT; between equals, the higher alert level), or None."""
    best = None
    for strategy in strategies:
        if not strategy_active(strategy, now):
            continue
        verdict = evaluate_strategy(strategy, vehicle)
        if verdict is None:
            continue
        if best is None or (_OUTCOME_RANK[verdict.outcome], _LEVEL_RANK.get(
                verdict.strategy.level, 0)) > (_OUTCOME_RANK[best.outcome], _LEVEL_RANK.get(
                    best.strategy.level, 0)):
            best = verdict
    return best


# ---------------------------------------------------------------------------------------
# The decision
# ---------------------------------------------------------------------------------------

def _direction(read, lane):
    direction = getattr(read, 'direction', None)
    if direction in (IN, OUT):
        return direction
    if lane.direction in (IN, OUT):
        return lane.direction
    return IN


def _valid_entry(blacklist, now):
    if blacklist is None:
        return None
    if isinstance(blacklist, BlacklistEntry):
        blacklist = (blacklist,)
    for entry in blacklist:
        if blacklist_valid(entry, now):
            return entry
    return None


def _describe_rule(rule):
    parts = []
    if rule.max_stage is not None:
        parts.append('%s and below' % _STAGE_EN.get(rule.max_stage, rule.max_stage))
    else:
        parts.append('every stage')
    if rule.fuels is not None:
        parts.append('fuel ' + '/'.join(sorted(rule.fuels)))
    if rule.vehicle_classes is not None:
        parts.append('types ' + '/'.join('%s*' % p for p in rule.vehicle_classes))
    if rule.categories is not None:
        parts.append('category ' + '/'.join(sorted(rule.categories)))
    return ', '.join(parts)


def _make(action, reason, key, raw, direction, vehicle, detail, note=''):
    short_zh, long_zh, text_en = REASONS[reason]
    action_zh, action_en = ACTION_TEXTS[action]
    plate_shown = key or '车牌未识别'
    if vehicle is not None:
        stage_zh = _STAGE_ZH.get(vehicle.stage, '') if vehicle.stage != 'X' else ''
        stage_zh = stage_zh or '阶段不明'
        fuel_zh = _FUEL_ZH.get(vehicle.fuel, '')
        stage_line = ('%s %s' % (stage_zh, fuel_zh)).strip()
        described = '%s, %s, %s' % (_STAGE_EN.get(vehicle.stage, 'stage unknown'),
                                    _FUEL_EN.get(vehicle.fuel, 'fuel unknown'),
                                    vehicle.vehicle_type or 'type unknown')
    elif key:
        stage_line = '未登记'
        described = 'not registered'
    else:
        stage_line = ''
        described = 'no plate'
    verdict_line = action_zh if reason == 'ok' else short_zh + action_zh
    said = [key] if key else []
    if reason != 'ok':
        said.append(long_zh)
    said.append(action_zh + (' 等待人工确认' if action == HOLD else ''))
    voice = ' '.join(said)
    text_zh = ' '.join(part for part in (key, stage_line,
                                         long_zh if reason != 'ok' else '', action_zh) if part)
    text_en = '%s %s (%s): %s [%s] %s%s' % (
        direction, key or '-', described, action_en, reason, text_en,
        (': ' + note) if note else '')
    if raw and raw != key:
        detail['plate_raw'] = raw
    return Decision(action, reason, key, direction, (plate_shown, stage_line, verdict_line),
                    voice, text_zh, text_en, detail)


def _policy(value, exiting):
    """A lane policy value as an action; nothing is refused on exit."""
    if value not in ACTIONS:
        value = HOLD                         # an unknown setting must not open the barrier
    if exiting and value == REFUSE:
        return HOLD
    return value


def decide(read, vehicle, blacklist, strategies, lane, now):
    """The Decision for one plate read (see the module docstring for the rules)."""
    lane = lane or DEFAULT_LANE
    key = getattr(read, 'plate_key', '') or ''
    raw = getattr(read, 'plate_raw', '') or ''
    confidence = getattr(read, 'confidence', None)
    direction = _direction(read, lane)
    exiting = direction == OUT
    detail = {'lane': lane.code, 'confidence': confidence}

    if not key:
        detail['policy'] = 'no_plate'
        return _make(_policy(lane.no_plate, exiting), 'no_plate', '', raw, direction, None,
                     detail)

    if confidence is not None and lane.min_confidence is not None \
            and confidence < lane.min_confidence and lane.low_confidence != PASS:
        detail['policy'] = 'low_confidence'
        return _make(_policy(lane.low_confidence, exiting), 'low_confidence', key, raw,
                     direction, vehicle, detail,
                     'confidence %s < %s' % (confidence, lane.min_confidence))

    entry = _valid_entry(blacklist, now)
    if entry is not None:
        detail.update(blacklist_id=entry.id, blacklist_source=entry.source,
                      blacklist_reason=entry.reason)
        note = 'listed by %s%s' % (entry.source or 'unknown source',
                                   (' (%s)' % entry.reason) if entry.reason else '')
        if exiting:
            action = PASS if lane.blacklist_exit == PASS else HOLD
            detail['policy'] = 'blacklist_exit'
        else:
            action = REFUSE
        return _make(action, 'blacklisted', key, raw, direction, vehicle, detail, note)

    if vehicle is None:
        detail['policy'] = 'unregistered'
        action = _policy(lane.unregistered, exiting)
        if action != PASS or exiting:
            return _make(action, 'unregistered', key, raw, direction, None, detail)
        # Policy 'pass' on entry: still subject to the active strategies, as a vehicle of
        # unknown stage, fuel and type.
        verdict = strategies_verdict(strategies, Vehicle(key), now)
        if verdict is not None and verdict.outcome in (REFUSE, HOLD):
            return _emergency(verdict, key, raw, direction, None, detail)
        if (verdict is not None and verdict.outcome == UNKNOWN) or lane.require_clean:
            if verdict is not None:
                _note_verdict(detail, verdict)
            return _make(HOLD, 'unregistered', key, raw, direction, None, detail,
                         'stage unknown while a restriction applies')
        if verdict is not None:                     # EXEMPT: the plate is listed
            _note_verdict(detail, verdict)
            return _make(PASS, 'exempt', key, raw, direction, None, detail)
        return _make(PASS, 'unregistered', key, raw, direction, None, detail)

    if exiting:
        return _make(PASS, 'ok', key, raw, direction, vehicle, detail)

    verdict = strategies_verdict(strategies, vehicle, now)
    if verdict is not None:
        if verdict.outcome in (REFUSE, HOLD):
            return _emergency(verdict, key, raw, direction, vehicle, detail)
        if verdict.outcome == UNKNOWN:
            _note_verdict(detail, verdict)
            return _make(HOLD, 'register_incomplete', key, raw, direction, vehicle, detail,
                         _verdict_note(verdict))

    if lane.require_clean and not is_clean(vehicle):
        detail['policy'] = 'require_clean'
        if vehicle.stage in _STAGE_RANK:
            return _make(REFUSE, 'stage_not_allowed', key, raw, direction, vehicle, detail)
        return _make(HOLD, 'register_incomplete', key, raw, direction, vehicle, detail,
                     'the lane takes China V+ or new energy only and the stage is unknown')

    if verdict is not None:                         # EXEMPT
        _note_verdict(detail, verdict)
        return _make(PASS, 'exempt', key, raw, direction, vehicle, detail,
                     _verdict_note(verdict))
    return _make(PASS, 'ok', key, raw, direction, vehicle, detail)


def _note_verdict(detail, verdict):
    detail.update(strategy_id=verdict.strategy.id, level=verdict.strategy.level,
                  rule_index=verdict.rule_index)


def _verdict_note(verdict):
    strategy = verdict.strategy
    rule = rules_of(strategy)[verdict.rule_index]
    return 'strategy %s %r (%s) rule %d: %s' % (strategy.id, strategy.name, strategy.level,
                                                verdict.rule_index + 1, _describe_rule(rule))


def _emergency(verdict, key, raw, direction, vehicle, detail):
    _note_verdict(detail, verdict)
    return _make(verdict.outcome, 'emergency_' + verdict.strategy.level, key, raw, direction,
                 vehicle, detail, _verdict_note(verdict))
