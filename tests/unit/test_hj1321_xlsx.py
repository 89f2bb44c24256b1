"""hj1321.xlsx: what it writes is read back by xlrd as written, and is well-formed XML."""
import io
import xml.etree.ElementTree as ET
import zipfile

import pytest
import xlrd

from hj1321 import xlsx


def _book(build):
    buffer = io.BytesIO()
    book = xlsx.Workbook(buffer)
    build(book)
    book.close()
    return buffer.getvalue()


def test_cells_headers_and_sheets_read_back():
    def build(book):
        sheet = book.add_sheet('进出厂记录', widths=[12, 20, 8],
                               headers=[['车牌号码', '时间', '运输量'], ['Plate', 'Time', 'Qty']])
        sheet.write_row(['冀B12345', '2026-11-28 08:15:30', 31.84])
        sheet.write_row(['=SUM(A1:A2)', None, 7])
        sheet.write_row(['', ' padded ', -0.5])
        other = book.add_sheet('过磅单')
        other.write_row(['WB2611280001'])
    data = _book(build)
    book = xlrd.open_workbook(file_contents=data)
    assert book.sheet_names() == ['进出厂记录', '过磅单']
    sheet = book.sheet_by_index(0)
    assert sheet.nrows == 5 and sheet.ncols == 3
    assert sheet.row_values(0) == ['车牌号码', '时间', '运输量']
    assert sheet.row_values(1) == ['Plate', 'Time', 'Qty']
    assert sheet.row_values(2) == ['冀B12345', '2026-11-28 08:15:30', 31.84]
    assert sheet.cell(2, 2).ctype == xlrd.XL_CELL_NUMBER
    # text that looks like a formula stays text; an empty cell stays empty
    assert sheet.cell(3, 0).value == '=SUM(A1:A2)' and sheet.cell(3, 0).ctype == xlrd.XL_CELL_TEXT
    assert sheet.cell(3, 1).ctype == xlrd.XL_CELL_EMPTY
    assert sheet.cell(3, 2).value == 7
    assert sheet.row_values(4) == ['', ' padded ', -0.5]
    # the two header rows stay in view (xlrd does not read panes: the XML says it)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        root = ET.fromstring(package.read('xl/worksheets/sheet1.xml'))
    ns = {'m': xlsx.MAIN_NS}
    pane = root.find('m:sheetViews/m:sheetView/m:pane', ns)
    assert (pane.get('ySplit'), pane.get('topLeftCell'), pane.get('state')) == ('2', 'A3', 'frozen')
    assert [c.get('width') for c in root.findall('m:cols/m:col', ns)] == ['12.0', '20.0', '8.0']
    assert {c.get('s') for c in root.findall('m:sheetData/m:row/m:c', ns)} == {'1', '2', None}
    assert book.sheet_by_index(1).row_values(0) == ['WB2611280001']


def test_escaping_and_characters_xml_cannot_hold():
    text = 'a & b < c > d "e" \'f\'\x00\x07\x1f\ttab\nline'
    data = _book(lambda book: book.add_sheet('x').write_row([text]))
    cell = xlrd.open_workbook(file_contents=data).sheet_by_index(0).cell_value(0, 0)
    assert cell == 'a & b < c > d "e" \'f\'\ttab\nline'
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.testzip() is None
        for name in package.namelist():
            ET.fromstring(package.read(name))       # every part is well-formed XML
        assert set(package.namelist()) == {
            '[Content_Types].xml', '_rels/.rels', 'xl/workbook.xml',
            'xl/_rels/workbook.xml.rels', 'xl/styles.xml', 'xl/worksheets/sheet1.xml'}


def test_numbers_booleans_and_odd_values():
    data = _book(lambda book: book.add_sheet('n').write_row(
        [0, 10 ** 12, 1e-7, float('nan'), float('inf'), True, 3]))
    row = xlrd.open_workbook(file_contents=data).sheet_by_index(0).row_values(0)
    # NaN and infinity are no spreadsheet numbers: written as their text
    assert row == [0, 10 ** 12, 1e-7, 'nan', 'inf', 'True', 3]


def test_sheet_names_made_valid_and_unique():
    assert xlsx.sheet_name('a/b:c*?[d]') == 'a_b_c___d_'
    assert xlsx.sheet_name('x' * 40) == 'x' * 31
    assert xlsx.sheet_name('Ledger', taken=['ledger']) == 'Ledger (2)'
    data = _book(lambda book: (book.add_sheet('A'), book.add_sheet('a')))
    assert xlrd.open_workbook(file_contents=data).sheet_names() == ['A', 'a (2)']


def test_column_names():
    assert [xlsx.column_name(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == \
        ['A', 'Z', 'AA', 'AB', 'AZ', 'BA', 'ZZ', 'AAA']


def test_rows_wider_than_the_widths_and_the_column_limit():
    def build(book):
        sheet = book.add_sheet('w', widths=[10, 10])
        sheet.write_row(['a', 'b', 'c'])
        with pytest.raises(ValueError):
            sheet.write_row(['x'] * (xlsx.MAX_COLUMNS + 1))
    data = _book(build)
    assert xlrd.open_workbook(file_contents=data).sheet_by_index(0).row_values(0) == \
        ['a', 'b', 'c']


def test_an_empty_workbook_still_opens():
    assert xlrd.open_workbook(file_contents=_book(lambda book: None)).sheet_names() == ['Sheet1']


def test_rows_made_elsewhere_and_a_sheet_written_last_shown_first():
    """What the audit export's workers do: rows as XML in a file, copied into a sheet
    that is written after the others but comes first among the tabs."""
    fragment = io.BytesIO(''.join(xlsx.row_xml(n, ['row %d' % n, n]) for n in (3, 4))
                          .encode('utf-8'))

    def build(book):
        book.add_sheet('过磅单').write_row(['WB1'])
        sheet = book.add_sheet('进出厂记录', headers=[['a', 'b'], ['A', 'B']], position=0)
        sheet.write_rows_xml(fragment, 2)
        sheet.write_row(['last', 5])
    book = xlrd.open_workbook(file_contents=_book(build))
    assert book.sheet_names() == ['进出厂记录', '过磅单']
    sheet = book.sheet_by_index(0)
    assert [sheet.row_values(n) for n in range(5)] == [
        ['a', 'b'], ['A', 'B'], ['row 3', 3], ['row 4', 4], ['last', 5]]
    assert book.sheet_by_index(1).row_values(0) == ['WB1']
