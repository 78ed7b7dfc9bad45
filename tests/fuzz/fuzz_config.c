/* fuzz_config.c — libFuzzer target for qt_config_parse and qt_codec_config_parse: any bytes give a config or
 * an error naming the label; never a crash, leak or read past the input. */
#include "engine/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exact size, so ASan sees any over-read */
    if (!copy) return 0;
    memcpy(copy, data, size);
    qt_error err = {0};
    qt_config c;
    qt_codec_config cc;
    if (qt_config_parse("fuzz", copy, size, &c, &err) != 0 && strncmp(err.msg, "fuzz: ", 6)) abort();
    if (qt_codec_config_parse("fuzz", copy, size, &cc, &err) != 0 && strncmp(err.msg, "fuzz: ", 6)) abort();
    free(copy);
    return 0;
}
