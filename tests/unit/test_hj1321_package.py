"""The package's own rules: no Odoo, relative imports only, importable under any name."""
import ast
import importlib.util
import os
import sys
import types

import hj1321

PACKAGE_DIR = os.path.dirname(hj1321.__file__)
ALLOWED_TOP_LEVEL = {
    'base64', 'binascii', 'collections', 'csv', 'datetime', 'decimal', 'hashlib', 'json',
    'fractions', 'math', 'os', 're', 'threading', 'urllib', 'xml', 'zipfile',
}


def _modules():
    for name in sorted(os.listdir(PACKAGE_DIR)):
        if name.endswith('.py'):
            path = os.path.join(PACKAGE_DIR, name)
            with open(path, encoding='utf-8') as handle:
                yield name, ast.parse(handle.read(), path)


def test_every_module_has_a_docstring_and_only_stdlib_or_relative_imports():
    seen = 0
    for name, tree in _modules():
        seen += 1
        assert ast.get_docstring(tree), '%s has no module docstring' % name
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split('.')[0] in ALLOWED_TOP_LEVEL, (name, alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    assert node.module.split('.')[0] in ALLOWED_TOP_LEVEL, (name, node.module)
    assert seen == 15


def test_package_imports_under_another_parent_name():
    """As odoo.addons.env_gate_ledger.hj1321 the package must not need `hj1321` itself."""
    parent = 'fake_addons_%d' % os.getpid()
    sys.modules[parent] = types.ModuleType(parent)
    sys.modules[parent].__path__ = []
    try:
        spec = importlib.util.spec_from_file_location(
            parent + '.hj1321', os.path.join(PACKAGE_DIR, '__init__.py'),
            submodule_search_locations=[PACKAGE_DIR])
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        assert module.plates.__name__ == parent + '.hj1321.plates'
        assert module.validate_plate('冀B12345') == ('冀B12345', 'ordinary')
        assert module.plates.Hj1321Error is module.errors.Hj1321Error
    finally:
        for key in [k for k in sys.modules if k == parent or k.startswith(parent + '.')]:
            del sys.modules[key]


def test_main_names_are_re_exported():
    for name in ('GENESIS', 'canonical_json', 'chain_hash', 'verify_chain', 'check_code',
                 'camera_color_to_hj', 'is_v_plus_or_new_energy', 'check_vehicle',
                 'Hj1321Error', 'parse_event', 'parse_request', 'strip_pictures',
                 'classify_plate', 'expected_colors', 'normalize_plate', 'validate_plate',
                 'validate_vin', 'vin_check_digit'):
        assert callable(getattr(hj1321, name)) or name == 'GENESIS', name
    assert hj1321.GENESIS == '0' * 64
