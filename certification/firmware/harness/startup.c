/*
 * Cortex-M start-up for the EdgePlug harness: the vector table, a reset handler that sets up
 * .data/.bss and calls main(), and one fault handler for every fault vector that prints
 *
 *     EPFAULT hfsr=<hex> cfsr=<hex>\n
 *
 * and ends the run with a reset request, so a faulting firmware fails fast instead of timing out.
 */
#include "edgeplug_harness.h"

extern uint32_t __stack_top[];
extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[];

int main(void);
void Reset_Handler(void);
void ep_fault_handler(void);
void ep_unexpected_handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)

typedef void (*ep_vector_t)(void);

__attribute__((section(".vectors"), used)) const ep_vector_t ep_vector_table[16] = {
    (ep_vector_t)__stack_top,
    Reset_Handler,
    ep_unexpected_handler, /* NMI */
    ep_fault_handler,      /* HardFault */
    ep_fault_handler,      /* MemManage */
    ep_fault_handler,      /* BusFault */
    ep_fault_handler,      /* UsageFault */
    ep_fault_handler,      /* SecureFault (Armv8-M) */
    0,
    0,
    0,
    ep_unexpected_handler, /* SVCall */
    ep_unexpected_handler, /* DebugMonitor */
    0,
    ep_unexpected_handler, /* PendSV */
    ep_unexpected_handler, /* SysTick */
};

void Reset_Handler(void)
{
    uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
#if defined(__ARM_FP)
    /* Hard-float builds need CP10/CP11 enabled before the first FPU instruction. */
    SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb 0xf\n\tisb 0xf" ::: "memory");
#endif
    main();
    ep_system_reset();
}

void ep_fault_handler(void)
{
    ep_uart_puts("\nEPFAULT hfsr=");
    ep_uart_put_hex32(SCB_HFSR);
    ep_uart_puts(" cfsr=");
    ep_uart_put_hex32(SCB_CFSR);
    ep_uart_putc('\n');
    ep_system_reset();
}

void ep_unexpected_handler(void)
{
    ep_uart_puts("\nEPERR unexpected_exception\n");
    ep_system_reset();
}
