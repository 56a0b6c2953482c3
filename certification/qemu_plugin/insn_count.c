/*
 * EdgePlug instruction counter: a QEMU TCG plugin that counts, per call, the guest instructions
 * executed inside a firmware's inference section, so latency comes from the emulator rather
 * than from the firmware's own report.
 *
 * Arguments (-plugin path,arg=value,...):
 *   start=<addr>  first byte of the inference section (__infer_start)
 *   end=<addr>    one past its last byte (__infer_end)
 *   entry=<addr>  the inference entry point; each execution of it starts a new call
 *                 (default: start)
 *   out=<path>    where to write the report at exit (default: QEMU's plugin log, stderr)
 *
 * Report, one record per line:
 *   EPCOUNT version 1
 *   EPCOUNT total <instructions executed anywhere>
 *   EPCOUNT semihosting <number of semihosting trap instructions executed>
 *   EPCOUNT calls <n>
 *   EPCOUNT call <index> <instructions inside [start,end) from this entry to the next>
 *
 * Debian's QEMU 7.2 ships no qemu-plugin.h, so the few declarations used are written out below
 * to match the QEMU 7.2 plugin ABI (QEMU_PLUGIN_VERSION 1). Inline counters keep the counting
 * in generated code; only the entry instruction and semihosting traps take a callback.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU 7.2 plugin ABI (include/qemu/qemu-plugin.h), only what this plugin uses ---- */

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
#define QEMU_PLUGIN_VERSION 1

typedef uint64_t qemu_plugin_id_t;

typedef struct qemu_info_t {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
    QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op, void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
                                    void *userdata);
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv);

/* ---- the counter ---- */

/* Thumb encoding of BKPT 0xAB, the M-profile semihosting trap. */
#define THUMB_BKPT_SEMIHOSTING 0xBEABu
/* Calls beyond this many are still counted in the total but not reported one by one. */
#define MAX_CALLS 65536u

static uint64_t section_start;
static uint64_t section_end;
static uint64_t entry_address;
static bool entry_given;
static char *out_path;

/* The MPS2 boards emulate one vCPU, so plain counters are enough. */
static uint64_t total_insns;
static uint64_t section_insns;
static uint64_t semihosting_traps;
static uint64_t call_count;
static uint64_t call_start_insns[MAX_CALLS];

static void on_entry(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    if (call_count < MAX_CALLS) {
        call_start_insns[call_count] = section_insns;
    }
    call_count++;
}

static void on_semihosting_trap(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    semihosting_traps++;
}

static bool is_semihosting_trap(const struct qemu_plugin_insn *insn)
{
    if (qemu_plugin_insn_size(insn) != 2) {
        return false;
    }
    const uint8_t *bytes = qemu_plugin_insn_data(insn);
    return (uint16_t)(bytes[0] | (bytes[1] << 8)) == THUMB_BKPT_SEMIHOSTING;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total_insns, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        /* The entry callback is registered before the inline add, so the entry instruction
         * is counted in the call it starts. */
        if (vaddr == entry_address) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_entry, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (vaddr >= section_start && vaddr < section_end) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                       &section_insns, 1);
        }
        if (is_semihosting_trap(insn)) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_semihosting_trap,
                                                   QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
    }
}

static void write_report(FILE *stream)
{
    uint64_t reported = call_count < MAX_CALLS ? call_count : MAX_CALLS;
    fprintf(stream, "EPCOUNT version 1\n");
    fprintf(stream, "EPCOUNT total %" PRIu64 "\n", total_insns);
    fprintf(stream, "EPCOUNT semihosting %" PRIu64 "\n", semihosting_traps);
    fprintf(stream, "EPCOUNT calls %" PRIu64 "\n", call_count);
    for (uint64_t i = 0; i < reported; i++) {
        uint64_t next = i + 1 < call_count && i + 1 < MAX_CALLS ? call_start_insns[i + 1]
                                                                : section_insns;
        fprintf(stream, "EPCOUNT call %" PRIu64 " %" PRIu64 "\n", i, next - call_start_insns[i]);
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    if (out_path != NULL) {
        FILE *stream = fopen(out_path, "w");
        if (stream != NULL) {
            write_report(stream);
            fclose(stream);
            return;
        }
    }
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buffer, &size);
    if (stream == NULL) {
        return;
    }
    write_report(stream);
    fclose(stream);
    qemu_plugin_outs(buffer);
    free(buffer);
}

static bool parse_address(const char *text, uint64_t *value)
{
    char *end = NULL;
    unsigned long long parsed = strtoull(text, &end, 0);
    if (end == text || *end != '\0') {
        return false;
    }
    *value = parsed;
    return true;
}

static int fail(const char *message, const char *argument)
{
    fprintf(stderr, "insn_count: %s: %s\n", message, argument);
    return -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    bool have_start = false;
    bool have_end = false;
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = strchr(arg, '=');
        if (value == NULL) {
            return fail("expected key=value", arg);
        }
        size_t key_length = (size_t)(value - arg);
        value++;
        if (key_length == 5 && strncmp(arg, "start", 5) == 0) {
            have_start = parse_address(value, &section_start);
            if (!have_start) {
                return fail("bad address", arg);
            }
        } else if (key_length == 3 && strncmp(arg, "end", 3) == 0) {
            have_end = parse_address(value, &section_end);
            if (!have_end) {
                return fail("bad address", arg);
            }
        } else if (key_length == 5 && strncmp(arg, "entry", 5) == 0) {
            entry_given = parse_address(value, &entry_address);
            if (!entry_given) {
                return fail("bad address", arg);
            }
        } else if (key_length == 3 && strncmp(arg, "out", 3) == 0) {
            out_path = strdup(value);
        } else {
            return fail("unknown argument", arg);
        }
    }
    if (!have_start || !have_end || section_end <= section_start) {
        return fail("need start=<addr>,end=<addr> with start < end", "");
    }
    if (!entry_given) {
        entry_address = section_start;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
