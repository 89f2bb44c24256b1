"""The gate box's Chinese, read from the add-on's i18n/zh_CN.po without Odoo.

The box runs without a database, so Odoo's ir.translation cannot serve it; its status
page and its own HTTP error replies take their Chinese from the same gettext catalogue a
translator edits for any Odoo add-on. Errors raised by the protocol modules carry both
languages where they are raised (see hj1321.errors.BilingualError) and are not looked up
here. A msgid missing from the catalogue shows in English only (a unit test keeps every
msgid the box uses translated). Standard library only.
"""
import ast
import os

PO_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       'i18n', 'zh_CN.po')
_catalog = None
missing = set()     # msgids asked for that the catalogue lacks (the tests keep it empty)


def read_po(path=PO_PATH):
    """{msgid: msgstr} of a .po file (single and multi-line strings, C escapes)."""
    catalog, key, parts, current = {}, None, {'msgid': [], 'msgstr': []}, None

    def flush():
        if key is not None or parts['msgid']:
            msgid, msgstr = ''.join(parts['msgid']), ''.join(parts['msgstr'])
            if msgid:
                catalog[msgid] = msgstr
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.strip()
            if line.startswith('msgid '):
                flush()
                key, parts, current = 'msgid', {'msgid': [], 'msgstr': []}, 'msgid'
                line = line[6:]
            elif line.startswith('msgstr '):
                current = 'msgstr'
                line = line[7:]
            elif not line.startswith('"'):
                continue
            parts[current].append(ast.literal_eval(line))
    flush()
    return catalog


def zh(msgid):
    """The Chinese of `msgid`, or `msgid` itself when the catalogue has none."""
    global _catalog
    if _catalog is None:
        _catalog = read_po()
    text = _catalog.get(msgid)
    if not text:
        missing.add(msgid)
    return text or msgid


def label(msgid):
    """'中文 English' for table labels and buttons."""
    text = zh(msgid)
    return text if text == msgid else '%s %s' % (text, msgid)


def heading(msgid):
    """'中文 / English' for titles and headings."""
    text = zh(msgid)
    return text if text == msgid else '%s / %s' % (text, msgid)
