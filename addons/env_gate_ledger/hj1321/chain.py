"""SHA-256 hash chain over ledger records, so silent edits and deletions are detectable."""
import collections
import datetime
import decimal
import hashlib
import json

GENESIS = '0' * 64

ChainBreak = collections.namedtuple('ChainBreak', 'record_id reason_code message_zh message_en')


def _default(value):
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%d %H:%M:%S')
    if isinstance(value, datetime.date):
        return value.strftime('%Y-%m-%d')
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    raise TypeError('cannot hash a %s' % type(value).__name__)


def _stable(value):
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    return value


def canonical_json(obj):
    """One text per value: sorted keys, no spaces, floats rounded to 6 places."""
    return json.dumps(_stable(obj), sort_keys=True, ensure_ascii=False, separators=(',', ':'),
                      default=_default)


def chain_hash(prev_hash, payload):
    return hashlib.sha256(
        (prev_hash + '\n' + canonical_json(payload)).encode('utf-8')).hexdigest()


def verify_chain(records, start_hash=GENESIS):
    """The first break in an ordered stream of (id, payload, stored_prev, stored_hash)."""
    prev = start_hash
    for record_id, payload, stored_prev, stored_hash in records:
        if stored_prev != prev:
            return ChainBreak(
                record_id, 'chain.link',
                '记录 %s 的前序哈希与上一条记录不符：其前面的记录被删除、插入或调换' % record_id,
                'record %s does not follow the previous record: a record before it was '
                'deleted, inserted or reordered' % record_id)
        if chain_hash(stored_prev, payload) != stored_hash:
            return ChainBreak(
                record_id, 'chain.content',
                '记录 %s 的内容与其哈希不符：记录被修改过' % record_id,
                'record %s no longer matches its hash: its content was changed' % record_id)
        prev = stored_hash
    return None
