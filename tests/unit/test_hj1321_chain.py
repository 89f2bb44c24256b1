import datetime
import decimal
import hashlib
import itertools

import pytest

from hj1321 import chain


def _build(payloads, start=chain.GENESIS):
    """Records as a sealing model would store them: (id, payload, prev, hash)."""
    records, prev = [], start
    for number, payload in enumerate(payloads, 1):
        digest = chain.chain_hash(prev, payload)
        records.append(chain.ChainRecord(number, payload, prev, digest))
        prev = digest
    return records


PAYLOADS = [
    {'plate_key': '冀B12345', 'direction': '1', 'pass_time': '2026-01-05 00:00:00',
     'confidence': 97.0, 'lane_id': 3, 'flag_unreadable': False, 'reason': None},
    {'plate_key': '冀B12345', 'direction': '2', 'pass_time': datetime.datetime(2026, 1, 5, 2),
     'confidence': 88.5, 'lane_id': 4, 'flag_unreadable': False, 'reason': '人工抬杆'},
    {'plate_key': None, 'direction': '1', 'pass_time': datetime.datetime(2026, 1, 5, 3),
     'confidence': None, 'lane_id': 3, 'flag_unreadable': True, 'reason': None},
    {'plate_key': '晋A00001', 'direction': '1', 'pass_time': datetime.datetime(2026, 1, 5, 4),
     'confidence': 99.1, 'lane_id': 3, 'flag_unreadable': False, 'reason': None,
     'quantity': decimal.Decimal('31.20'), 'registered': datetime.date(2020, 6, 1)},
    {'plate_key': '鲁R12345', 'direction': '2', 'pass_time': datetime.datetime(2026, 1, 5, 5),
     'confidence': 93.0, 'lane_id': 4, 'flag_unreadable': False, 'reason': None},
]


def test_canonical_json_is_sorted_compact_and_keeps_chinese():
    text = chain.canonical_json({
        'b': 1, 'a': '冀', 'c': None, 'd': datetime.datetime(2026, 1, 2, 3, 4, 5, 678),
        'e': datetime.date(2026, 1, 2), 'f': 1.5, 'g': decimal.Decimal('2.50'),
        'h': [True, False], 'i': (1, 2)})
    assert text == ('{"a":"冀","b":1,"c":null,"d":"2026-01-02 03:04:05","e":"2026-01-02",'
                    '"f":1.5,"g":2.5,"h":[true,false],"i":[1,2]}')


def test_canonical_json_is_stable_for_equal_values():
    assert chain.canonical_json({'x': 0.1 + 0.2}) == chain.canonical_json({'x': 0.3})
    assert chain.canonical_json({'x': -0.0}) == chain.canonical_json({'x': 0.0})
    assert chain.canonical_json({'x': decimal.Decimal('12.30')}) == \
        chain.canonical_json({'x': 12.3})
    assert chain.canonical_json({'b': 1, 'a': 2}) == chain.canonical_json({'a': 2, 'b': 1})
    assert chain.canonical_json({'x': 1.0}) != chain.canonical_json({'x': '1.0'})
    assert chain.canonical_json({'x': 1.5}) != chain.canonical_json({'x': 1.6})


def test_aware_datetimes_are_written_in_utc():
    cst = datetime.timezone(datetime.timedelta(hours=8))
    aware = datetime.datetime(2026, 1, 5, 8, 0, tzinfo=cst)
    assert chain.canonical_json(aware) == '"2026-01-05 00:00:00"'


def test_bytes_are_text_or_base64():
    assert chain.canonical_json(b'abc') == '"abc"'
    assert chain.canonical_json(b'\xff\x00') == '"base64:/wA="'


def test_unknown_types_are_refused():
    with pytest.raises(TypeError):
        chain.canonical_json({'x': object()})
    with pytest.raises(TypeError):
        chain.canonical_json({'x': {1, 2}})


def test_chain_hash_is_sha256_of_prev_newline_canonical_json():
    payload = {'b': 2, 'a': '冀B12345'}
    expected = hashlib.sha256(
        (chain.GENESIS + '\n' + '{"a":"冀B12345","b":2}').encode('utf-8')).hexdigest()
    assert chain.chain_hash(chain.GENESIS, payload) == expected
    assert len(expected) == 64
    assert chain.chain_hash('1' * 64, payload) != expected


def test_intact_chain_verifies():
    records = _build(PAYLOADS)
    assert chain.verify_chain(records) is None
    assert chain.verify_chain(iter(records)) is None
    assert chain.verify_chain([]) is None
    assert chain.verify_chain([tuple(r) for r in records]) is None


def test_chain_with_another_start_hash():
    start = 'a' * 64
    records = _build(PAYLOADS, start)
    assert chain.verify_chain(records, start) is None
    broken = chain.verify_chain(records)
    assert broken.record_id == 1 and broken.reason_code == 'chain.link'


def test_an_edit_names_the_edited_record():
    records = _build(PAYLOADS)
    victim = records[2]
    edited = dict(victim.payload, plate_key='琼A00000')
    records[2] = victim._replace(payload=edited)
    broken = chain.verify_chain(records)
    assert broken.record_id == 3
    assert broken.reason_code == 'chain.content'
    assert '3' in broken.message_en and '3' in broken.message_zh
    assert '修改' in broken.message_zh and 'changed' in broken.message_en


def test_an_edit_of_a_float_beyond_the_rounding_is_not_an_edit():
    records = _build(PAYLOADS)
    records[0] = records[0]._replace(payload=dict(records[0].payload, confidence=97.0000000001))
    assert chain.verify_chain(records) is None
    records[0] = records[0]._replace(payload=dict(records[0].payload, confidence=97.01))
    assert chain.verify_chain(records).record_id == 1


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    records = _build(PAYLOADS)
    edited = dict(records[1].payload, direction='1')
    records[1] = records[1]._replace(payload=edited,
                                     stored_hash=chain.chain_hash(records[1].stored_prev_hash, edited))
    broken = chain.verify_chain(records)
    assert (broken.record_id, broken.reason_code) == (3, 'chain.link')


def test_a_deletion_names_the_record_after_it():
    records = _build(PAYLOADS)
    del records[1]
    broken = chain.verify_chain(records)
    assert broken.record_id == 3
    assert broken.reason_code == 'chain.link'
    assert '删除' in broken.message_zh and 'deleted' in broken.message_en


def test_deleting_the_first_record_is_detected():
    records = _build(PAYLOADS)[1:]
    broken = chain.verify_chain(records)
    assert (broken.record_id, broken.reason_code) == (2, 'chain.link')


def test_a_reorder_is_detected_at_the_first_moved_record():
    records = _build(PAYLOADS)
    records[1], records[2] = records[2], records[1]
    broken = chain.verify_chain(records)
    assert (broken.record_id, broken.reason_code) == (3, 'chain.link')


def test_an_insertion_is_detected():
    records = _build(PAYLOADS)
    forged = chain.ChainRecord(99, {'plate_key': '冀B99999'}, records[1].stored_hash,
                               chain.chain_hash(records[1].stored_hash, {'plate_key': '冀B99999'}))
    records.insert(2, forged)
    broken = chain.verify_chain(records)
    assert (broken.record_id, broken.reason_code) == (3, 'chain.link')


def test_only_the_first_break_is_reported():
    records = _build(PAYLOADS)
    records[1] = records[1]._replace(payload={'tampered': 1})
    records[3] = records[3]._replace(payload={'tampered': 2})
    assert chain.verify_chain(records).record_id == 2


def test_verify_streams_and_stops_at_the_break():
    consumed = []

    def endless():
        prev = chain.GENESIS
        for number in itertools.count(1):
            payload = {'n': number}
            digest = chain.chain_hash(prev, payload)
            if number == 1000:
                payload = {'n': -1}                 # edited record
            consumed.append(number)
            yield number, payload, prev, digest
            prev = digest

    broken = chain.verify_chain(endless())
    assert broken.record_id == 1000
    assert consumed[-1] == 1000


# ---- the plain writer (whole-ledger verification, bench/generate.py) -----------------

PLAIN = [
    {'plate_key': '冀B12345', 'confidence': chain.plain_float(97.30000000000001), 'lane_id': 3,
     'flag_unreadable': False, 'reason': None, 'pass_time': '2026-01-05 00:00:00',
     'quote': 'a "quoted"\\ text\n', 'zero': chain.plain_float(-0.0)},
    {'new_quantity': chain.plain_float(31.25), 'create_date': '2026-01-05 08:00:01',
     'new_cargo_id': None, 'kind': 'cargo', 'count': 0},
]


@pytest.mark.parametrize('payload', PLAIN)
def test_plain_writer_gives_the_canonical_hash(payload):
    assert chain.plain_chain_hash(chain.GENESIS, payload) == chain.chain_hash(chain.GENESIS,
                                                                              payload)


def test_verify_from_an_anchor_with_the_plain_writer():
    records = _build(PLAIN * 3)
    anchor = records[1].stored_hash
    assert chain.verify_chain(records[2:], anchor, chain.plain_chain_hash) is None
    # the first remaining record must follow the anchor, not the genesis
    found = chain.verify_chain(records[2:], hash_function=chain.plain_chain_hash)
    assert (found.record_id, found.reason_code) == (3, 'chain.link')
    edited = records[3]._replace(payload=dict(records[3].payload, kind='void'))
    found = chain.verify_chain(records[2:3] + [edited] + records[4:], anchor,
                               chain.plain_chain_hash)
    assert (found.record_id, found.reason_code) == (4, 'chain.content')
