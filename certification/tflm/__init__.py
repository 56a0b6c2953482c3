"""TensorFlow Lite Micro side of certification: sandboxed execution, invariants, performance.

Pure Python, no Django: the certification stages call into it. See docs/tflm-sandbox.md.
"""
