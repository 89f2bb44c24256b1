#!/usr/bin/env python3
"""Rewrite an add-on's zh_CN.po from a fresh export, keeping every translation.

Odoo 11 loads a .po entry only for the references it lists (`#: model:...` lines): a new
field whose label is an existing msgid ("From") stays untranslated until its reference is
added to that entry. A fresh `--i18n-export` has every reference; this gives each of its
entries the translation the current file has for the same msgid, keeps the current header,
and lists what is still untranslated (Chinese, bilingual and language-neutral texts such
as codes and units are their own translation).

    bin/odoo -c .state/odoo.conf -d DB --i18n-export=/tmp/export.po -l zh_CN \\
        --modules=env_gate_ledger --stop-after-init
    .venv/bin/python scripts/po_refresh.py /tmp/export.po addons/env_gate_ledger/i18n/zh_CN.po
"""
import io
import re
import sys

from babel.messages.pofile import read_po


def _quote(text):
    return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') \
        .replace('\t', '\\t')


def _msgid(block):
    """The msgid of one .po block (None for the header)."""
    catalog = read_po(io.BytesIO((block + '\n').encode('utf-8')))
    ids = [message.id for message in catalog if message.id]
    return ids[0] if ids else None


_CJK = re.compile('[\u4e00-\u9fff]')
_NEUTRAL = re.compile(r'(?:[A-Z0-9]{1,3}(?:, )?)+|m³|ID|https?://\S+|[\w.]+\.[\w.]+|\(\S+\)')


def _as_is(msgid):
    """Text that reads the same in Chinese: already Chinese (or bilingual), codes, units,
    addresses and technical names."""
    return bool(_CJK.search(msgid)) or bool(_NEUTRAL.fullmatch(msgid.strip()))


def refresh(exported_path, current_path):
    current = read_po(open(current_path, 'rb'))
    translations = {message.id: message.string for message in current
                    if message.id and message.string and message.string != message.id}
    header = open(current_path, encoding='utf-8').read().split('\n\n', 1)[0]
    blocks, missing = [header], []
    for block in open(exported_path, encoding='utf-8').read().strip().split('\n\n')[1:]:
        msgid = _msgid(block)
        if msgid is None:
            continue
        comments = [line for line in block.split('\n') if line.startswith('#')]
        translated = translations.get(msgid, '')
        if not translated and _as_is(msgid):
            translated = msgid
        elif not translated:
            missing.append(msgid)
        blocks.append('\n'.join(comments + ['msgid ' + _quote(msgid),
                                            'msgstr ' + _quote(translated)]))
    with open(current_path, 'w', encoding='utf-8') as handle:
        handle.write('\n\n'.join(blocks) + '\n')
    return missing


if __name__ == '__main__':
    for msgid in refresh(sys.argv[1], sys.argv[2]):
        print('untranslated: %r' % msgid)
