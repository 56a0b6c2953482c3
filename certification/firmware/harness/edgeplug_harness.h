/*
 * EdgePlug firmware harness ABI, version 1.
 *
 * A certifiable firmware links this harness (edgeplug_harness.c, startup.c, uart_cmsdk.c) with
 * linker.ld and one board memory map from boards/, and implements ep_infer(). The harness reads
 * the input block the emulator loaded at __ep_input_block, calls ep_infer() once per vector,
 * prints every output on UART0 and ends with a system reset request. docs/firmware-harness.md
 * is the normative description; keep both in step.
 */
#ifndef EDGEPLUG_HARNESS_H
#define EDGEPLUG_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#define EP_ABI_VERSION 1u
/* "EPIN" read as a little-endian word. */
#define EP_INPUT_MAGIC 0x4E495045u
#define EP_INPUT_HEADER_SIZE 32u
/* Largest output a single ep_infer() call may produce; the harness keeps it on the stack. */
#define EP_MAX_OUTPUT_SIZE 1024u

/* Element types of input and output vectors (informational for the firmware). */
enum ep_dtype {
    EP_DTYPE_INT8 = 0,
    EP_DTYPE_UINT8 = 1,
    EP_DTYPE_INT16 = 2,
    EP_DTYPE_INT32 = 3,
    EP_DTYPE_FLOAT32 = 4,
};

/* The header at the start of the input block; vectors follow at offset header_size, each
 * `stride` bytes apart (input_size rounded up to a multiple of 4 so float vectors are aligned). */
typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t header_size;
    uint32_t vector_count;
    uint32_t input_size;
    uint32_t output_size;
    uint32_t stride;
    uint8_t input_dtype;
    uint8_t output_dtype;
    uint16_t reserved0;
    uint32_t reserved1;
} ep_input_header_t;

_Static_assert(sizeof(ep_input_header_t) == EP_INPUT_HEADER_SIZE, "input header is 32 bytes");

/*
 * Put the inference code in the .infer section: the emulator counts the instructions executed
 * there, and nothing else, to estimate latency. Helpers that ep_infer() calls belong there too.
 */
#define EP_INFER __attribute__((section(".infer"), noinline))

/*
 * Implemented by the vendor, in .infer. Reads input_size bytes at `input`, writes output_size
 * bytes at `output`. Returns 0 on success; any other value is reported as EPERR and ends the run.
 */
int ep_infer(const void *input, uint32_t input_size, void *output, uint32_t output_size);

/* UART0 (CMSDK APB UART) used for the result lines. */
void ep_uart_init(void);
void ep_uart_putc(char c);
void ep_uart_puts(const char *s);
void ep_uart_put_hex32(uint32_t value);
void ep_uart_put_dec(uint32_t value);

/* Requests a system reset through AIRCR.SYSRESETREQ; the emulator runs with -no-reboot, so this
 * ends the run. Never returns. */
__attribute__((noreturn)) void ep_system_reset(void);

#endif /* EDGEPLUG_HARNESS_H */
