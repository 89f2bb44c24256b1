"""SHA-256 hash chain over ledger records, so silent edits and deletions are detectable.

Each record's hash covers the previous record's hash and the record's own sealed content,
written as canonical JSON. Changing a sealed value in the database changes the recomputed
hash; deleting, inserting or reordering records breaks the previous-hash links. The text
must be the same whether the values come from the ORM cache right after a write or from
the database years later, hence the rules in `canonical_json`.
"""
import base64
import collections
import datetime
import decimal
import hashlib
import json

GENESIS = '0' * 64

ChainBreak = collections.namedtuple('ChainBreak', 'record_id reason_code message_zh message_en')
# A convenient shape for verify_chain's input (any 4-item iterable works).
ChainRecord = collections.namedtuple(
    'ChainRecord', 'record_id payload stored_prev_hash stored_hash')

# Floats are rounded to this many decimals before hashing: a value rounded by the ORM
# (12.3 stored as 12.299999999999999 in a cache) and the same value read back from a
# NUMERIC column must give one text. Six decimals cover coordinates (6) and weights (3).
FLOAT_DECIMALS = 6


def _default(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime('%Y-%m-%d %H:%M:%S')
    if isinstance(value, datetime.date):
        return value.strftime('%Y-%m-%d')
    if isinstance(value, datetime.time):
        return value.strftime('%H:%M:%S')
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode('utf-8')
        except UnicodeDecodeError:
            return 'base64:' + base64.b64encode(bytes(value)).decode('ascii')
    raise TypeError('cannot hash a value of type %s: %r' % (type(value).__name__, value))


def _float(value):
    value = round(value, FLOAT_DECIMALS)
    return 0.0 if value == 0 else value          # -0.0 and 0.0 are one value


def _stable(value):
    """Turn values whose text could vary into one fixed form (recursively)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, decimal.Decimal):
        # A NUMERIC read as Decimal and the same value read as float hash alike.
        return _float(float(value)) if value.is_finite() else str(value)
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    return value


def canonical_json(obj):
    """One text per value: sorted keys, no spaces, non-ASCII kept, None as null.

    Datetimes are 'YYYY-MM-DD HH:MM:SS' (an aware one is first converted to UTC;
    microseconds are dropped, as Odoo stores none), dates 'YYYY-MM-DD', floats rounded to
    FLOAT_DECIMALS and written with repr, Decimals as the equal float, tuples as lists,
    bytes as UTF-8 text (or 'base64:...'). Any other type raises TypeError.
    """
    return json.dumps(_stable(obj), sort_keys=True, ensure_ascii=False, separators=(',', ':'),
                      default=_default)


def chain_hash(prev_hash, payload):
    """SHA-256 (hex) of prev_hash + '\\n' + canonical_json(payload), as UTF-8."""
    text = '%s\n%s' % (prev_hash or '', canonical_json(payload))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


_PLAIN_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(',', ':'))


def plain_float(value):
    """A float as canonical_json writes it: rounded to FLOAT_DECIMALS, -0.0 as 0.0."""
    return _float(value)


def plain_json(obj):
    """canonical_json's text for values that need no normalisation: str, int, bool, None,
    floats as plain_float leaves them, and dicts and lists of those."""
    return _PLAIN_ENCODER.encode(obj)


def plain_chain_hash(prev_hash, payload):
    """chain_hash for a flat payload of plain values (str, int, bool, None and floats
    already passed through plain_float), without canonical_json's generic normalisation:
    the same text, 2-4 times faster (bench/chain_verify.py). The hot path of whole-ledger
    verification and of bench/generate.py."""
    text = '%s\n%s' % (prev_hash or '', plain_json(payload))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def verify_chain(records, start_hash=GENESIS, hash_function=chain_hash):
    """The first break in an ordered stream of (record_id, payload, stored_prev_hash,
    stored_hash), or None when every record is intact.

    Streams: one record is held at a time, so a generator over millions of rows is fine.
    A record whose stored previous hash is not the stored hash of the record before it
    (or `start_hash` for the first) means a deletion, insertion or reordering just before
    it: reason 'chain.link'. A record whose recomputed hash differs from its stored hash
    was edited: reason 'chain.content'. `start_hash` is the hash the first record must
    follow: GENESIS, or the anchor left by a retention purge of the records before it.
    `hash_function` may be plain_chain_hash when every payload is plain.
    """
    prev = start_hash
    position = 0
    for record in records:
        record_id, payload, stored_prev, stored_hash = record
        position += 1
        if stored_prev != prev:
            return ChainBreak(
                record_id, 'chain.link',
                '第 %d 条记录（%s）的前序哈希与上一条记录的哈希不符：'
                '它之前的记录被删除、插入、调换或改写过'
                % (position, record_id),
                'Record %s (position %d) does not follow the record before it: a record '
                'before it was deleted, inserted, reordered or rewritten'
                % (record_id, position))
        if hash_function(stored_prev, payload) != stored_hash:
            return ChainBreak(
                record_id, 'chain.content',
                '第 %d 条记录（%s）的内容与其哈希不符：该记录被修改过' % (position, record_id),
                'Record %s (position %d) no longer matches its hash: its content was changed'
                % (record_id, position))
        prev = stored_hash
    return None
