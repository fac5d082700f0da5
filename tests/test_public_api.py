"""``adhere.__all__`` is the public API: complete, and every name in it resolves."""

from __future__ import annotations

import subprocess
import sys
import types

import adhere


def test_all_names_resolve():
    for name in adhere.__all__:
        assert hasattr(adhere, name), name


def test_all_is_complete():
    public = {
        name
        for name, value in vars(adhere).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - {"annotations"} == set(adhere.__all__) - {"__version__"}


def test_import_does_no_work():
    # No heavy analysis at import: NLTK, langdetect and rich load only when first used.
    code = "import sys, adhere; print(sorted(m for m in ('nltk', 'langdetect_rs', 'rich', 'regex') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
