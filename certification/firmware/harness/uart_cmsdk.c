/*
 * Polled transmit-only driver for the Arm CMSDK APB UART, UART0 of every MPS2 board. The base
 * address comes from the board memory map (__ep_uart0) so one object serves every board.
 */
#include "edgeplug_harness.h"

extern volatile uint32_t __ep_uart0[];

#define UART_DATA 0u
#define UART_STATE 1u
#define UART_CTRL 2u
#define UART_BAUDDIV 4u

#define STATE_TX_FULL 0x1u
#define CTRL_TX_ENABLE 0x1u
/* The smallest divisor the CMSDK UART accepts; the emulator ignores the baud rate. */
#define BAUDDIV_MIN 16u

void ep_uart_init(void)
{
    __ep_uart0[UART_BAUDDIV] = BAUDDIV_MIN;
    __ep_uart0[UART_CTRL] = CTRL_TX_ENABLE;
}

void ep_uart_putc(char c)
{
    while (__ep_uart0[UART_STATE] & STATE_TX_FULL) {
    }
    __ep_uart0[UART_DATA] = (uint8_t)c;
}

void ep_uart_puts(const char *s)
{
    while (*s) {
        ep_uart_putc(*s++);
    }
}

void ep_uart_put_hex32(uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    for (int shift = 28; shift >= 0; shift -= 4) {
        ep_uart_putc(digits[(value >> shift) & 0xfu]);
    }
}

void ep_uart_put_dec(uint32_t value)
{
    char buffer[10];
    int length = 0;
    do {
        buffer[length++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (length > 0) {
        ep_uart_putc(buffer[--length]);
    }
}
