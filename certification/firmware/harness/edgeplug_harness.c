/*
 * EdgePlug firmware harness: validates the input block, runs ep_infer() on every vector and
 * reports each output on UART0 as
 *
 *     EPOUT <index> <hex bytes>\n     (index in decimal, two lowercase hex digits per byte)
 *     EPDONE <count>\n
 *
 * then requests a system reset, which ends the emulator run (-no-reboot).
 */
#include "edgeplug_harness.h"

/* Defined by the board memory map (boards/<board>.ld): where the emulator loads the inputs. */
extern const uint8_t __ep_input_block[];

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define AIRCR_VECTKEY_SYSRESETREQ 0x05FA0004u

static const char hex_digits[] = "0123456789abcdef";

void ep_system_reset(void)
{
    /* Complete outstanding writes (the last UART bytes) before the reset request. */
    __asm volatile("dsb 0xf" ::: "memory");
    SCB_AIRCR = AIRCR_VECTKEY_SYSRESETREQ;
    __asm volatile("dsb 0xf" ::: "memory");
    for (;;) {
        __asm volatile("wfi");
    }
}

static void fail(const char *reason)
{
    ep_uart_puts("EPERR ");
    ep_uart_puts(reason);
    ep_uart_putc('\n');
    ep_system_reset();
}

static void emit_output(uint32_t index, const uint8_t *output, uint32_t size)
{
    ep_uart_puts("EPOUT ");
    ep_uart_put_dec(index);
    ep_uart_putc(' ');
    for (uint32_t i = 0; i < size; i++) {
        ep_uart_putc(hex_digits[output[i] >> 4]);
        ep_uart_putc(hex_digits[output[i] & 0x0f]);
    }
    ep_uart_putc('\n');
}

static const ep_input_header_t *checked_header(void)
{
    const ep_input_header_t *header = (const ep_input_header_t *)__ep_input_block;
    if (header->magic != EP_INPUT_MAGIC) {
        fail("bad_magic");
    }
    if (header->version != EP_ABI_VERSION || header->header_size < EP_INPUT_HEADER_SIZE) {
        fail("bad_version");
    }
    if (header->output_size == 0 || header->output_size > EP_MAX_OUTPUT_SIZE) {
        fail("bad_output_size");
    }
    if (header->stride < header->input_size) {
        fail("bad_stride");
    }
    return header;
}

int main(void)
{
    ep_uart_init();
    const ep_input_header_t *header = checked_header();
    const uint8_t *vectors = __ep_input_block + header->header_size;
    /* Word-aligned so float and int32 outputs can be written in place. */
    uint32_t output_words[EP_MAX_OUTPUT_SIZE / 4];
    uint8_t *output = (uint8_t *)output_words;

    for (uint32_t i = 0; i < header->vector_count; i++) {
        const uint8_t *input = vectors + i * header->stride;
        if (ep_infer(input, header->input_size, output, header->output_size) != 0) {
            fail("infer");
        }
        emit_output(i, output, header->output_size);
    }
    ep_uart_puts("EPDONE ");
    ep_uart_put_dec(header->vector_count);
    ep_uart_putc('\n');
    ep_system_reset();
}

/* GCC may emit calls to these even when freestanding; the harness links no C library. */
void *memcpy(void *dest, const void *src, size_t n)
{
    uint8_t *d = dest;
    const uint8_t *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dest;
}

void *memset(void *dest, int value, size_t n)
{
    uint8_t *d = dest;
    while (n--) {
        *d++ = (uint8_t)value;
    }
    return dest;
}
