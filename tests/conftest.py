"""Test setup: 8 fake CPU devices, so sharded code paths run without an accelerator;
XLA's lowest backend optimization level and its older CPU fusion code generator (the
tests' programs are tiny and compiling them is most of the suite's time: the two halve
it; the subprocesses that tests start inherit them); and a
compilation cache shared by the tests of one session (many tests compile the same
small programs)."""

import os
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
FAST_COMPILE_FLAGS = ('--xla_backend_optimization_level=0', '--xla_cpu_use_fusion_emitters=false')
for flag in FAST_COMPILE_FLAGS:
    if flag not in os.environ.get('XLA_FLAGS', ''):
        os.environ['XLA_FLAGS'] = f'{os.environ.get("XLA_FLAGS", "")} {flag}'.strip()

import jax  # noqa: E402

jax.config.update('jax_num_cpu_devices', 8)
jax.config.update('jax_platforms', 'cpu')
jax.config.update('jax_compilation_cache_dir', tempfile.mkdtemp(prefix='nssgan-test-jax-cache-'))
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)
