"""A streaming XLSX writer for ledger sheets of hundreds of thousands of rows.

XlsxWriter spends about 20 µs a cell in Python (argument checks, cell objects, per-cell
escaping); a month of a large plant is 180,000 passages of 43 columns, so 2.5 minutes for
the spreadsheet alone against the one minute the audit export has. The ledgers need only
text and number cells, two header styles, column widths and frozen header rows, which is a
small, fixed piece of SpreadsheetML (ECMA-376): this writer streams each sheet's rows
straight into the ZIP as inline strings, a few µs a cell. xlrd, LibreOffice and Excel read
it; tests/unit/test_hj1321_xlsx.py reads every feature back.

    book = Workbook('ledgers.xlsx')
    sheet = book.add_sheet('进出厂记录', widths=[12, 20], headers=[['车牌', '时间'],
                                                                ['Plate', 'Time']])
    sheet.write_row(['冀B12345', 3.5])
    book.close()
"""
import math
import re
import zipfile

MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
PKG_REL_NS = 'http://schemas.openxmlformats.org/package/2006/relationships'
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAX_ROWS = 1048576
MAX_COLUMNS = 16384
MAX_TEXT = 32767
# styles (cellXfs indexes): 0 plain, 1 the Chinese header row, 2 the English header row
PLAIN, HEADER, HEADER_EN = 0, 1, 2

# XML 1.0 has no place for most control characters: they are dropped, as XlsxWriter does
_ESCAPES = {ord('&'): '&amp;', ord('<'): '&lt;', ord('>'): '&gt;'}
_ESCAPES.update((c, None) for c in range(32) if c not in (9, 10, 13))
_ESCAPES.update({0xFFFE: None, 0xFFFF: None})
_BAD_SHEET_NAME = re.compile(r'[\[\]:*?/\\]')


_NEEDS_ESCAPE = re.compile('[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')
_SPACES = ' \t\n\r'


def escape(text):
    """Text for an XML element: &, <, > escaped, characters XML cannot hold dropped."""
    # most cells need nothing: looking is cheaper than translating
    return text.translate(_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


def column_name(index):
    """'A' for 0, 'Z' for 25, 'AA' for 26."""
    name = ''
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def sheet_name(name, taken=()):
    """A valid, unique sheet name: no []:*?/\\, at most 31 characters."""
    base = (_BAD_SHEET_NAME.sub('_', str(name)).strip("'") or 'Sheet')[:31]
    candidate, number = base, 1
    while candidate.lower() in {t.lower() for t in taken}:
        number += 1
        suffix = ' (%d)' % number
        candidate = base[:31 - len(suffix)] + suffix
    return candidate


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


_LETTERS = [column_name(i) for i in range(64)]


def _letters(count):
    if count > len(_LETTERS):
        if count > MAX_COLUMNS:
            raise ValueError('a row has at most %d cells, not %d' % (MAX_COLUMNS, count))
        _LETTERS.extend(column_name(i) for i in range(len(_LETTERS), count))
    return _LETTERS


def row_xml(number, values, style=PLAIN):
    """The <row> element of row `number` (from 1): str values as text (never a formula or
    a number), int and float as numbers, None and '' as empty cells; text longer than a
    cell holds is cut. Worker processes make rows with it too (hj1321.audit_rows)."""
    row = str(number)
    style_attr = ' s="%d"' % style if style else ''
    cells = []
    for letter, value in zip(_letters(len(values)), values):
        if value is None or value == '':
            continue
        if value.__class__ is not str:
            number_text = _number(value)
            if number_text is not None:
                cells.append('<c r="%s%s"%s><v>%s</v></c>' % (letter, row, style_attr,
                                                                number_text))
                continue
            value = str(value)
        text = escape(value)[:MAX_TEXT]
        space = ' xml:space="preserve"' if text and (text[0] in _SPACES
                                                     or text[-1] in _SPACES) else ''
        cells.append('<c r="%s%s"%s t="inlineStr"><is><t%s>%s</t></is></c>'
                     % (letter, row, style_attr, space, text))
    return '<row r="%s">%s</row>' % (row, ''.join(cells))


class Sheet(object):
    """One worksheet being streamed; rows in order, written by `write_row`."""

    def __init__(self, stream, name):
        self.name, self._stream = name, stream
        self.rows = 0
        self._buffer = []

    def write_row(self, values, style=PLAIN):
        """One row (see row_xml)."""
        if self.rows >= MAX_ROWS:
            raise ValueError('sheet %s is full (%d rows)' % (self.name, MAX_ROWS))
        self.rows += 1
        self._buffer.append(row_xml(self.rows, values, style))
        if len(self._buffer) >= 500:
            self._flush()

    def write_rows_xml(self, source, count):
        """Rows made elsewhere with row_xml, numbered from the next row on: the bytes of
        the binary file `source`, `count` rows."""
        if self.rows + count > MAX_ROWS:
            raise ValueError('sheet %s is full (%d rows)' % (self.name, MAX_ROWS))
        self._flush()
        while True:
            block = source.read(1 << 20)
            if not block:
                break
            self._stream.write(block)
        self.rows += count

    def _flush(self):
        if self._buffer:
            self._stream.write(''.join(self._buffer).encode('utf-8'))
            self._buffer = []

    def close(self):
        self._flush()
        self._stream.write(b'</sheetData></worksheet>')
        self._stream.close()


class Workbook(object):
    """A workbook written as it goes: one sheet open at a time, sheets in order."""

    def __init__(self, path_or_file):
        # level 1: a month's sheet is ~0.5 GB of XML; level 6 takes 3 times as long for a
        # file a tenth smaller
        self._zip = zipfile.ZipFile(path_or_file, 'w', zipfile.ZIP_DEFLATED, compresslevel=1)
        self._names = []
        self._sheet = None

    def add_sheet(self, name, widths=(), headers=(), freeze_rows=None, position=None):
        """A new sheet (the previous one is finished). widths: column widths in
        characters; headers: rows of text written first, the first in the header
        style, the others in the second header style; freeze_rows: rows kept in view
        while scrolling (default: the header rows); position: its place among the tabs
        (default: last), so a sheet written last can come first."""
        if self._sheet is not None:
            self._sheet.close()
        name = sheet_name(name, [n for n, _file in self._names])
        number = len(self._names) + 1
        self._names.insert(len(self._names) if position is None else position,
                           (name, number))
        columns = max([len(widths)] + [len(h) for h in headers] + [1])
        if columns > MAX_COLUMNS:
            raise ValueError('at most %d columns' % MAX_COLUMNS)
        freeze = len(headers) if freeze_rows is None else freeze_rows
        stream = self._zip.open('xl/worksheets/sheet%d.xml' % number, 'w', force_zip64=True)
        view = ('<pane ySplit="%d" topLeftCell="A%d" activePane="bottomLeft" state="frozen"/>'
                % (freeze, freeze + 1)) if freeze else ''
        cols = ''.join('<col min="%d" max="%d" width="%s" customWidth="1"/>'
                       % (i + 1, i + 1, float(width)) for i, width in enumerate(widths)
                       if width)
        stream.write((XML_HEAD + '<worksheet xmlns="%s" xmlns:r="%s"><sheetViews>'
                      '<sheetView workbookViewId="0">%s</sheetView></sheetViews>'
                      '<sheetFormatPr defaultRowHeight="15"/>%s<sheetData>'
                      % (MAIN_NS, REL_NS, view, '<cols>%s</cols>' % cols if cols else '')
                      ).encode('utf-8'))
        _letters(columns)
        self._sheet = Sheet(stream, name)
        for number, header in enumerate(headers):
            self._sheet.write_row(list(header), HEADER if number == 0 else HEADER_EN)
        return self._sheet

    def close(self):
        if self._sheet is not None:
            self._sheet.close()
            self._sheet = None
        if not self._names:
            self.add_sheet('Sheet1')
            self._sheet.close()
        sheets = range(1, len(self._names) + 1)
        self._write('[Content_Types].xml', (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package'
            '.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats'
            '-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats'
            '-officedocument.spreadsheetml.styles+xml"/>%s</Types>') % ''.join(
                '<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' % n
                for n in sheets))
        self._write('_rels/.rels', (
            '<Relationships xmlns="%s"><Relationship Id="rId1" Type="%s/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>') % (PKG_REL_NS, REL_NS))
        self._write('xl/workbook.xml', (
            '<workbook xmlns="%s" xmlns:r="%s"><bookViews><workbookView/></bookViews>'
            '<sheets>%s</sheets></workbook>') % (MAIN_NS, REL_NS, ''.join(
                '<sheet name="%s" sheetId="%d" r:id="rId%d"/>' % (
                    escape(name).replace('"', '&quot;'), n, n)
                for name, n in self._names)))
        self._write('xl/_rels/workbook.xml.rels', (
            '<Relationships xmlns="%s">%s<Relationship Id="rId%d" Type="%s/styles" '
            'Target="styles.xml"/></Relationships>') % (PKG_REL_NS, ''.join(
                '<Relationship Id="rId%d" Type="%s/worksheet" Target="worksheets/sheet%d.xml"/>'
                % (n, REL_NS, n) for n in sheets), len(self._names) + 1, REL_NS))
        self._write('xl/styles.xml', STYLES)
        self._zip.close()

    def _write(self, name, xml):
        self._zip.writestr(name, (XML_HEAD + xml).encode('utf-8'))


# plain; header: bold on light blue, thin border, wrapped; English header: grey italic
STYLES = (
    '<styleSheet xmlns="%s">'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font>'
    '<font><i/><sz val="10"/><color rgb="FF595959"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/>'
    '</patternFill></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/>'
    '</right><top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/>'
    '</bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" '
    'applyBorder="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="1" xfId="0" applyFont="1" '
    'applyBorder="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    '</cellStyles></styleSheet>') % MAIN_NS
