/*
 * Starting point for a vendor firmware: replace the body of ep_infer() with the model's
 * inference. Keep it, and every helper it calls, in .infer (EP_INFER) so the emulator counts
 * the instructions that make up the latency. Build with
 *
 *     make firmware BOARD=mps2-an386 NAME=my_agent SRCS=template/infer.c
 */
#include "edgeplug_harness.h"

/* Example: an int8 model with 4 inputs and 3 outputs that sums its inputs into each output.
   input_size and output_size are in bytes: one per value here, four for a float32 model. */
#define MODEL_INPUTS 4u
#define MODEL_OUTPUTS 3u

EP_INFER int ep_infer(const void *input, uint32_t input_size, void *output, uint32_t output_size)
{
    if (input_size != MODEL_INPUTS || output_size != MODEL_OUTPUTS) {
        return 1;
    }
    const int8_t *x = input;
    int8_t *y = output;
    int32_t sum = 0;
    for (uint32_t i = 0; i < MODEL_INPUTS; i++) {
        sum += x[i];
    }
    sum = sum > 127 ? 127 : (sum < -128 ? -128 : sum);
    for (uint32_t o = 0; o < MODEL_OUTPUTS; o++) {
        y[o] = (int8_t)sum;
    }
    return 0;
}
