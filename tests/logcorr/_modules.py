"""What a `logcorr` entry point loads: for the tests that keep its start-up light."""

from __future__ import annotations

import json
import subprocess
import sys


def modules_loaded(entry: str, *args: object) -> tuple[set[str], object]:
    """Run `<entry>.main()` as the `logcorr` script with `args` in a fresh interpreter: the
    top-level modules it loaded and its exit status."""
    code = (  # the modules are listed before this snippet imports json to print them
        "import sys\n"
        f"sys.argv = ['logcorr', *{[str(a) for a in args]!r}]\n"
        f"from {entry} import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules})\n"
        "import json\nprint(json.dumps([loaded, code]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    loaded, status = json.loads(out.stdout.splitlines()[-1])
    return set(loaded), status
