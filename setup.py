"""Build of kvstore's compiled core: ``ext/kvstore/_c*.pyx`` -> ``kvstore._c*``.

The compiled core is one extension module per concern (``MODULES``), sharing
declarations through the ``.pxd`` files beside them; ``kvstore._ccore`` gathers
their public functions (what ``kvstore._core`` imports).

Metadata lives in pyproject.toml; this file declares the extension and the
packages: kvstore's, and the benchmark harness, which lives in the repository's
``bench/`` folder and installs as ``kvstore_bench`` (a name of kvstore's own,
where ``bench`` could clash with another distribution).  As in
msgpack-python the extension is optional: without Cython (and without a
pre-generated ``ext/kvstore/_c*.c``), when the C compiler fails, or with
``KVSTORE_PURE_PYTHON=1`` set at build time, kvstore installs with its
pure-Python core (``kvstore._pycore``) and the build prints why.
``KVSTORE_REQUIRE_EXTENSION=1`` turns those cases into build errors instead.
"""

import os
import platform
import sys

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIRE = bool(os.environ.get("KVSTORE_REQUIRE_EXTENSION"))

# The compiled modules, each ext/kvstore/NAME.pyx -> kvstore.NAME (see _ccore.pyx for what each holds).
MODULES = ("_cvalues", "_ckeys", "_citems", "_cwire", "_cread", "_cwrite", "_clog", "_ctransact", "_cupdate",
           "_ccapacity", "_cserver", "_ccore", "_cmetrics")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,   # every index in ext/ is checked by hand against the buffer length
    "wraparound": False,
    "cdivision": True,
}


def _warn(message):
    if REQUIRE:
        raise SystemExit(f"kvstore: {message} (KVSTORE_REQUIRE_EXTENSION is set)")
    print(f"WARNING: kvstore: {message}; installing the pure-Python core.", file=sys.stderr)


def _extensions():
    if os.environ.get("KVSTORE_PURE_PYTHON"):
        _warn("KVSTORE_PURE_PYTHON is set, not building kvstore._ccore")
        return []
    if platform.python_implementation() != "CPython":
        _warn(f"the compiled core is for CPython, not {platform.python_implementation()}")
        return []
    compile_args = [] if sys.platform == "win32" else ["-O2"]
    sources = {name: os.path.join("ext", "kvstore", name + ".pyx") for name in MODULES}
    generated = {name: os.path.join("ext", "kvstore", name + ".c") for name in MODULES}
    try:
        from Cython.Build import cythonize
    except ImportError:
        cythonize = None
    if cythonize is None or not all(os.path.exists(os.path.join(HERE, p)) for p in sources.values()):
        if all(os.path.exists(os.path.join(HERE, p)) for p in generated.values()):
            return [Extension("kvstore." + name, [generated[name]], extra_compile_args=compile_args)
                    for name in MODULES]
        _warn("Cython is not installed, not building kvstore._ccore")
        return []
    extensions = [Extension("kvstore." + name, [sources[name]], include_dirs=["ext/kvstore"],
                            extra_compile_args=compile_args) for name in MODULES]
    # Generated C goes under build/ so the source tree only holds what people write.
    return cythonize(extensions, compiler_directives=DIRECTIVES, include_path=["ext"],
                     build_dir="build/cython", quiet=True, nthreads=os.cpu_count() or 1)


class OptionalBuildExt(build_ext):
    """build_ext that falls back to the pure-Python core when compiling fails; the modules are
    compiled in parallel, one job per CPU (as Cython translates them), unless ``-j`` says otherwise."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, missing Python headers, ...
            _warn(f"could not build the compiled core ({exc})")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            _warn(f"could not compile {ext.name} ({exc})")


def _packages():
    bench = ["kvstore_bench" + name[len("bench"):] for name in find_packages(HERE, include=["bench", "bench.*"])]
    return find_packages(HERE, include=["kvstore", "kvstore.*"]) + bench


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt}, packages=_packages(),
      package_dir={"kvstore_bench": "bench"})
