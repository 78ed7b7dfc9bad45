/* fuzz_safetensors.c — libFuzzer target for st_parse: any byte string must give a tensor set whose every
 * tensor lies inside the input, or an error message; never a crash, leak or out-of-bounds read. */
#include "engine/safetensors.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy whose end ASan knows exactly, so reading one byte past it is caught. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    qt_error err = {0};
    st_file *f = st_parse("fuzz", copy, size, &err);
    if (!f) {
        if (!err.msg[0] || strncmp(err.msg, "fuzz: ", 6)) abort(); /* every failure must say what was wrong */
    } else {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < st_count(f); i++) {
            const st_tensor *t = st_at(f, i);
            if (st_find(f, t->name) != t) abort();
            if (t->n_bytes != (size_t)t->n_elements * st_dtype_size(t->dtype)) abort();
            const uint8_t *p = t->data;
            if (t->n_bytes) {
                if (p < copy || p + t->n_bytes > copy + size) abort();
                sink ^= p[0] ^ p[t->n_bytes - 1];
            }
        }
        (void)sink;
    }
    st_close(f);
    free(copy);
    return 0;
}
