"""EdgePlug's benchmarks: figures measured on the machine at hand, printed beside their goals.

* ``make bench`` — ``benchmarks.tflm_qemu``: TFLM models and firmware on QEMU (no Django).
* ``make bench-web`` — ``benchmarks.web``: the full stack (PostgreSQL, Redis, gunicorn) under
  ``wrk``: catalogue browse against bare-Django ceilings, signed uploads, worker memory.

Nothing here asserts a time in a test; ``docs/benchmarks.md`` keeps the latest tables.
"""
