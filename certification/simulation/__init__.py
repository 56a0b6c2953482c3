"""Hardware-in-the-loop simulation of vendor firmware on emulated Cortex-M boards."""
