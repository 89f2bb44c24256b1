"""The audit package's pure rules: names, sheet rows, manifest and its verification."""
import io
import zipfile

import pytest

from hj1321 import audit_package as pkg
from hj1321 import canonical

PASSAGE = {
    'name': '0101A261128081530', 'direction': '1', 'pass_time': '2026-11-28 00:15:30',
    'decision': 'pass', 'barrier_no': '0101', 'gate_code': '01', 'plate_key': '冀B12345',
    'plate_color': '1', 'emission_stage': '5', 'fuel_type': 'B', 'lift_mode': '2',
    'picture_digests': 'front:' + 'a' * 64, 'flag_low_confidence': True,
}


def _package(files, **extra):
    out = io.BytesIO()
    entries = [pkg.digest_bytes(name, data) for name, data in files.items()]
    manifest = pkg.build_manifest(entries, {'from': '2026-10-01', 'to': '2026-10-31'},
                                  'auditor', '2026-11-01 08:00:00', **extra)
    with zipfile.ZipFile(out, 'w') as package:
        for name, data in files.items():
            package.writestr(name, data)
        package.writestr(pkg.MANIFEST, pkg.manifest_bytes(manifest))
        package.writestr(pkg.SUMS, pkg.sha256sums(manifest))
    return out.getvalue(), manifest


def _rewrite(data, name, content):
    """The same package with one member's bytes replaced."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, 'w') as target:
        for member in source.namelist():
            target.writestr(member, content if member == name else source.read(member))
    return out.getvalue()


def test_picture_names_follow_serial_and_kind():
    assert pkg.picture_name('0101A261128081530', 'front') == \
        'pictures/0101A261128081530_front.jpg'
    assert pkg.picture_name('0101A261128081530-2', 'plate', 'image/png') == \
        'pictures/0101A261128081530-2_plate.png'
    # nothing can climb out of the folder
    assert pkg.picture_name('../etc/passwd', 'front') == 'pictures/_.._etc_passwd_front.jpg'
    assert pkg.json_name('passage') == 'json/passage.jsonl'
    assert pkg.package_name('130283000088', '2026-10-01', '2026-10-31') == \
        'audit_130283000088_2026-10-01_2026-10-31.zip'


def test_codes_are_explained_in_chinese():
    assert pkg.explain('emission_stage', '5') == '5 国V'
    assert pkg.explain('fuel_type', 'B') == 'B 柴油'
    assert pkg.explain(pkg.SOURCES, 'manual') == 'manual 人工补录'
    assert pkg.explain('fuel_type', 'ZZ') == 'ZZ'       # unknown code kept as it is
    assert pkg.explain('fuel_type', None) == ''


def test_every_sheet_has_unique_keys_and_short_names():
    assert tuple(pkg.SHEETS) == pkg.LEDGERS
    for sheet in pkg.SHEETS.values():
        keys = [column.key for column in sheet.columns]
        assert len(keys) == len(set(keys)), sheet.ledger
        assert len(sheet.name) <= 31 and all(c.zh and c.en for c in sheet.columns)


def test_passage_row_in_hj1321_order_with_codes_and_files():
    record = canonical.build('passage', PASSAGE, enterprise={'code': '130283000088'})
    row = dict(zip([c.key for c in pkg.SHEETS['passage'].columns],
                   pkg.sheet_row('passage', record)))
    header = [c.zh for c in pkg.SHEETS['passage'].columns]
    assert header[:6] == ['出入口编号', '道闸编号', '通行流水号', '进出方向', '进/出厂时间',
                          '车牌号码']
    assert row['direction'] == '1 进厂'
    assert row['pass_time'] == '2026-11-28 08:15:30'        # China Standard Time
    assert row['vehicle.emission_stage'] == '5 国V'
    assert row['vehicle.fuel_type'] == 'B 柴油'
    assert row['control_result'] == '1 自动放行'
    assert row['pictures'] == 'pictures/0101A261128081530_front.jpg'
    assert row['flags'] == 'low_confidence 低置信度'
    assert row['reviewed'] == '否' and row['vehicle.vin'] == ''
    assert pkg.sheet_row('passage', record, with_files=False)[
        [c.key for c in pkg.SHEETS['passage'].columns].index('pictures')] == '车头'


def test_manifest_verifies_and_names_every_problem():
    files = {'ledgers.xlsx': b'xlsx', 'pictures/A_front.jpg': b'\xff\xd8\xffjpeg',
             'json/passage.jsonl': pkg.json_line({'a': '冀'})}
    data, manifest = _package(files, counts={'passage': 1})
    assert [e['name'] for e in manifest['files']] == sorted(files)
    assert manifest['counts'] == {'passage': 1}
    assert pkg.verify_zip(io.BytesIO(data)) == []
    sums = zipfile.ZipFile(io.BytesIO(data)).read(pkg.SUMS).decode()
    assert '%s  ledgers.xlsx\n' % manifest['files'][1]['sha256'] in sums

    tampered = _rewrite(data, 'ledgers.xlsx', b'xlsy')
    assert pkg.verify_zip(io.BytesIO(tampered)) == ['ledgers.xlsx does not match its SHA-256']
    longer = _rewrite(data, 'ledgers.xlsx', b'xlsx!')
    assert 'ledgers.xlsx has 5 bytes, the manifest says 4' in pkg.verify_zip(io.BytesIO(longer))


def test_missing_extra_and_inconsistent_files_are_reported():
    data, _manifest = _package({'a.txt': b'a', 'b.txt': b'b'})
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, 'w') as target:
        for member in source.namelist():
            if member != 'b.txt':
                target.writestr(member, source.read(member) if member != pkg.SUMS else b'x')
        target.writestr('c.txt', b'c')
    assert pkg.verify_zip(io.BytesIO(out.getvalue())) == [
        'b.txt is missing', 'c.txt is not in the manifest',
        'SHA256SUMS does not agree with manifest.json']
    assert pkg.verify_zip(io.BytesIO(b'not a zip'))[0].startswith('not a readable ZIP')


def test_a_file_named_twice_is_refused():
    with pytest.raises(ValueError):
        pkg.build_manifest([pkg.digest_bytes('a', b'1'), pkg.digest_bytes('a', b'2')],
                           {}, 'x', 'y')


def test_digest_file_reads_in_chunks(tmp_path):
    path = tmp_path / 'big.bin'
    path.write_bytes(b'x' * (pkg.CHUNK + 5))
    assert pkg.digest_file('big.bin', str(path)) == pkg.digest_bytes('big.bin',
                                                                     b'x' * (pkg.CHUNK + 5))
